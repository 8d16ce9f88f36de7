/* libuv's utilities, errors and thread primitives: every line this prints
   must be the same on libuv 1.44.2 and on libUVNative.so (the Swift test
   runs it on both and compares). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <uv.h>

#define CHECK(expr) do { if (!(expr)) { printf("FAILED: %s (line %d)\n", #expr, __LINE__); exit(1); } } while (0)

static uv_mutex_t mutex;
static uv_cond_t cond;
static uv_barrier_t barrier;
static uv_once_t once = UV_ONCE_INIT;
static uv_key_t key;
static int once_calls, serial_threads, thread_ran;

static void once_callback(void) { once_calls++; }

static void barrier_thread(void *arg) {
    (void) arg;
    uv_once(&once, once_callback);
    CHECK(uv_key_get(&key) == NULL);
    uv_key_set(&key, &key);
    if (uv_barrier_wait(&barrier)) {
        uv_mutex_lock(&mutex);
        serial_threads++;
        uv_mutex_unlock(&mutex);
    }
    thread_ran = 1;
}

static void errors(void) {
    static const int codes[] = {UV_EINVAL, UV_EOF, UV_ECANCELED, UV_EAI_NONAME, UV_EADDRINUSE, UV_ENOBUFS, UV_E2BIG, -9999};
    char buf[64];
    size_t i;
    for (i = 0; i < sizeof codes / sizeof codes[0]; i++)
        printf("error %d %s: %s\n", codes[i], uv_err_name(codes[i]), uv_strerror(codes[i]));
    printf("name_r %s\n", uv_err_name_r(UV_EPIPE, buf, sizeof buf));
    printf("name_r short %s\n", uv_err_name_r(UV_ECONNREFUSED, buf, 5));
    printf("strerror_r %s\n", uv_strerror_r(UV_ENOENT, buf, sizeof buf));
    printf("strerror_r short %s\n", uv_strerror_r(UV_ENOENT, buf, 8));
    printf("strerror_r unknown %s\n", uv_strerror_r(-1234, buf, sizeof buf));
    printf("translate %d %d %d\n", uv_translate_sys_error(EPERM), uv_translate_sys_error(UV_EPERM), uv_translate_sys_error(0));
    printf("version %x %s\n", uv_version(), uv_version_string());
}

static void addresses(void) {
    struct sockaddr_in a4;
    struct sockaddr_in6 a6;
    char text[64];
    unsigned char raw[16];
    printf("ip4 %d\n", uv_ip4_addr("127.0.0.1", 8080, &a4));
    CHECK(0 == uv_ip4_name(&a4, text, sizeof text));
    printf("ip4 port %d name %s\n", ntohs(a4.sin_port), text);
    printf("ip4 bad %d %d %d\n", uv_ip4_addr("256.0.0.1", 1, &a4), uv_ip4_addr("1.2.3", 1, &a4), uv_ip4_addr("01.2.3.4", 1, &a4));
    printf("ip6 %d\n", uv_ip6_addr("::1", 443, &a6));
    CHECK(0 == uv_ip6_name(&a6, text, sizeof text));
    printf("ip6 name %s\n", text);
    CHECK(0 == uv_ip6_addr("fe80::1%lo", 1, &a6));
    printf("ip6 zone scope %u\n", a6.sin6_scope_id);
    printf("ip6 mapped %d\n", uv_ip6_addr("::ffff:1.2.3.4", 1, &a6));
    CHECK(0 == uv_ip_name((struct sockaddr *) &a6, text, sizeof text));
    printf("ip_name %s\n", text);
    printf("ip6 bad %d\n", uv_ip6_addr("1::2::3", 1, &a6));
    printf("ntop short %d\n", uv_inet_ntop(AF_INET, &a4.sin_addr, text, 4));
    printf("ntop family %d pton family %d\n", uv_inet_ntop(AF_UNIX, raw, text, sizeof text), uv_inet_pton(AF_UNIX, "x", raw));
    printf("pton %d %d\n", uv_inet_pton(AF_INET6, "2001:db8::1", raw), uv_inet_pton(AF_INET, "", raw));
}

static void system_info(void) {
    char buf[4096];
    size_t size;
    int fds[2];
    uv_passwd_t pwd;
    uv_utsname_t names;
    uv_env_item_t *items;
    int count, i, found, r;
    uv_cpu_info_t *cpus;
    uv_interface_address_t *interfaces;
    double load[3], uptime;
    size_t rss;
    uv_rusage_t usage;
    uv_timeval64_t tv;

    CHECK(0 == uv_os_setenv("UVNATIVE_TEST", "value"));
    size = sizeof buf;
    r = uv_os_getenv("UVNATIVE_TEST", buf, &size);
    printf("getenv %d %s %zu\n", r, buf, size);
    size = 3;
    r = uv_os_getenv("UVNATIVE_TEST", buf, &size);
    printf("getenv short %d %zu\n", r, size);
    size = 0;
    printf("getenv zero %d\n", uv_os_getenv("UVNATIVE_TEST", buf, &size));
    CHECK(0 == uv_os_environ(&items, &count));
    for (i = 0, found = 0; i < count; i++)
        if (0 == strcmp(items[i].name, "UVNATIVE_TEST") && 0 == strcmp(items[i].value, "value")) found = 1;
    uv_os_free_environ(items, count);
    printf("environ found %d\n", found);
    CHECK(0 == uv_os_unsetenv("UVNATIVE_TEST"));
    size = sizeof buf;
    printf("getenv unset %d\n", uv_os_getenv("UVNATIVE_TEST", buf, &size));
    printf("setenv null %d unsetenv null %d\n", uv_os_setenv(NULL, "x"), uv_os_unsetenv(NULL));

    CHECK(0 == uv_os_setenv("TMPDIR", "/some/where/"));
    size = sizeof buf;
    r = uv_os_tmpdir(buf, &size);
    printf("tmpdir %d %s %zu\n", r, buf, size);
    size = 4;
    r = uv_os_tmpdir(buf, &size);
    printf("tmpdir short %d %zu\n", r, size);
    CHECK(0 == uv_os_setenv("HOME", "/home/someone"));
    size = sizeof buf;
    printf("homedir %d %s\n", uv_os_homedir(buf, &size), buf);
    CHECK(0 == uv_os_get_passwd(&pwd));
    printf("passwd uid %d\n", pwd.uid == (long) geteuid());
    uv_os_free_passwd(&pwd);
    size = sizeof buf;
    CHECK(0 == uv_os_gethostname(buf, &size));
    size = 1;
    printf("hostname short %d\n", uv_os_gethostname(buf, &size));
    CHECK(0 == uv_os_uname(&names));
    printf("uname %s\n", names.sysname);

    CHECK(0 == uv_chdir("/usr/"));
    size = sizeof buf;
    r = uv_cwd(buf, &size);
    printf("cwd %d %s %zu\n", r, buf, size);
    size = 2;
    r = uv_cwd(buf, &size);
    printf("cwd short %d %zu\n", r, size);
    size = 0;
    printf("cwd zero %d\n", uv_cwd(buf, &size));
    printf("chdir missing %d\n", uv_chdir("/no/such/dir"));
    size = sizeof buf;
    CHECK(0 == uv_exepath(buf, &size));
    printf("exepath matches %d\n", size == strlen(buf) && buf[0] == '/');

    printf("pid %d ppid %d\n", uv_os_getpid() == getpid(), uv_os_getppid() == getppid());
    printf("memory %d %d\n", uv_get_free_memory() > 0, uv_get_total_memory() >= uv_get_free_memory());
    (void) uv_get_constrained_memory();
    r = uv_uptime(&uptime);
    printf("uptime %d %d\n", r, uptime > 0);
    uv_loadavg(load);
    printf("loadavg %d\n", load[0] >= 0);
    r = uv_resident_set_memory(&rss);
    printf("rss %d %d\n", r, rss > 0);
    printf("rusage %d\n", uv_getrusage(&usage));
    r = uv_gettimeofday(&tv);
    printf("timeofday %d %d\n", r, tv.tv_sec > 1600000000);
    printf("timeofday null %d\n", uv_gettimeofday(NULL));
    CHECK(0 == uv_cpu_info(&cpus, &count));
    printf("cpus %d %d\n", count > 0, cpus[0].model != NULL);
    uv_free_cpu_info(cpus, count);
    printf("parallelism %d\n", uv_available_parallelism() >= 1);
    CHECK(0 == uv_interface_addresses(&interfaces, &count));
    for (i = 0, found = 0; i < count; i++)
        if (interfaces[i].is_internal && interfaces[i].address.address4.sin_family == AF_INET) found = 1;
    uv_free_interface_addresses(interfaces, count);
    printf("loopback %d\n", found);
    printf("hrtime %d\n", uv_hrtime() > 0);

    CHECK(0 == pipe(fds));
    printf("guess pipe %s\n", uv_handle_type_name(uv_guess_handle(fds[0])));
    close(fds[0]); close(fds[1]);
    CHECK(0 == socketpair(AF_UNIX, SOCK_STREAM, 0, fds));
    printf("guess unix %s\n", uv_handle_type_name(uv_guess_handle(fds[0])));
    close(fds[0]); close(fds[1]);
    fds[0] = socket(AF_INET, SOCK_DGRAM, 0);
    printf("guess udp %s\n", uv_handle_type_name(uv_guess_handle(fds[0])));
    close(fds[0]);
    fds[0] = open("/dev/null", O_RDONLY);
    printf("guess null %s\n", uv_handle_type_name(uv_guess_handle(fds[0])));
    close(fds[0]);
    printf("guess bad %d\n", uv_guess_handle(-1));
    printf("name file %s\n", uv_handle_type_name(UV_FILE));

    printf("sizes loop %zu timer %zu tcp %zu write %zu fs %zu bad %zu\n", uv_loop_size(),
           uv_handle_size(UV_TIMER), uv_handle_size(UV_TCP), uv_req_size(UV_WRITE), uv_req_size(UV_FS),
           uv_handle_size(UV_HANDLE_TYPE_MAX));
    printf("names %s %s %s %s\n", uv_handle_type_name(UV_NAMED_PIPE), uv_handle_type_name(UV_FS_EVENT),
           uv_req_type_name(UV_GETADDRINFO), uv_req_type_name(UV_WORK));
    printf("allocator null %d\n", uv_replace_allocator(malloc, realloc, NULL, free));
    {
        uv_lib_t lib;
        void *symbol;
        r = uv_dlopen("/no/such/library.so", &lib);
        printf("dlopen missing %d error set %d\n", r, strcmp(uv_dlerror(&lib), "no error") != 0);
        uv_dlclose(&lib);
        CHECK(0 == uv_dlopen("libc.so.6", &lib));
        printf("dlerror %s\n", uv_dlerror(&lib));
        r = uv_dlsym(&lib, "strlen", &symbol);
        printf("dlsym %d found %d\n", r, symbol != NULL);
        r = uv_dlsym(&lib, "no_such_symbol_here", &symbol);
        printf("dlsym missing %d error set %d\n", r, strcmp(uv_dlerror(&lib), "no error") != 0);
        uv_dlclose(&lib);
    }
}

static void threads(void) {
    uv_thread_t a, b, self;
    uv_thread_options_t options;
    uv_mutex_t recursive;
    uv_rwlock_t rwlock;
    uv_sem_t sem;

    CHECK(0 == uv_mutex_init(&mutex));
    CHECK(0 == uv_cond_init(&cond));
    CHECK(0 == uv_barrier_init(&barrier, 2));
    CHECK(0 == uv_key_create(&key));
    options.flags = UV_THREAD_HAS_STACK_SIZE;
    options.stack_size = 100;
    CHECK(0 == uv_thread_create_ex(&a, &options, barrier_thread, NULL));
    CHECK(0 == uv_thread_create(&b, barrier_thread, NULL));
    CHECK(0 == uv_thread_join(&a));
    CHECK(0 == uv_thread_join(&b));
    printf("threads once=%d serial=%d ran=%d key=%d\n", once_calls, serial_threads, thread_ran, uv_key_get(&key) == NULL);
    uv_key_delete(&key);
    uv_barrier_destroy(&barrier);
    self = uv_thread_self();
    printf("equal %d %d\n", uv_thread_equal(&self, &self) != 0, uv_thread_equal(&self, &a) != 0);

    uv_mutex_lock(&mutex);
    printf("cond timedwait %d\n", uv_cond_timedwait(&cond, &mutex, 1000000));
    uv_mutex_unlock(&mutex);
    printf("trylock %d", uv_mutex_trylock(&mutex));
    printf(" again %d\n", uv_mutex_trylock(&mutex));
    uv_mutex_unlock(&mutex);
    uv_cond_destroy(&cond);
    uv_mutex_destroy(&mutex);

    CHECK(0 == uv_mutex_init_recursive(&recursive));
    uv_mutex_lock(&recursive);
    printf("recursive trylock %d\n", uv_mutex_trylock(&recursive));
    uv_mutex_unlock(&recursive);
    uv_mutex_unlock(&recursive);
    uv_mutex_destroy(&recursive);

    CHECK(0 == uv_rwlock_init(&rwlock));
    uv_rwlock_rdlock(&rwlock);
    printf("rwlock tryrd %d trywr %d\n", uv_rwlock_tryrdlock(&rwlock), uv_rwlock_trywrlock(&rwlock));
    uv_rwlock_rdunlock(&rwlock);
    uv_rwlock_rdunlock(&rwlock);
    uv_rwlock_wrlock(&rwlock);
    printf("rwlock held tryrd %d\n", uv_rwlock_tryrdlock(&rwlock));
    uv_rwlock_wrunlock(&rwlock);
    uv_rwlock_destroy(&rwlock);

    CHECK(0 == uv_sem_init(&sem, 1));
    printf("sem %d", uv_sem_trywait(&sem));
    printf(" %d", uv_sem_trywait(&sem));
    uv_sem_post(&sem);
    uv_sem_wait(&sem);
    printf(" waited\n");
    uv_sem_destroy(&sem);
}

int main(int argc, char **argv) {
    char title[256];
    printf("title before setup %d\n", uv_get_process_title(title, sizeof title));
    argv = uv_setup_args(argc, argv);
    printf("title null %d\n", uv_get_process_title(NULL, 10));
    CHECK(0 == uv_get_process_title(title, sizeof title));
    printf("title is argv0 %d\n", 0 == strcmp(title, argv[0]));
    CHECK(0 == uv_set_process_title("t"));
    CHECK(0 == uv_get_process_title(title, sizeof title));
    printf("title %s short %d\n", title, uv_get_process_title(title, 1));
    errors();
    addresses();
    system_info();
    threads();
    uv_library_shutdown();
    printf("done\n");
    return 0;
}
