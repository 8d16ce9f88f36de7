/* The operating-system utilities: environment, user, host, directories,
   memory, CPU, interfaces, resource usage, process title, allocator. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <unistd.h>
#include "CUVNativeSupport.h"

extern char **environ;

/* ---- The allocator (uv_replace_allocator): what this library allocates
   for the caller to free with a uv_free_* or uv_os_free_* function. ---- */

static uv_malloc_func allocate_fn = malloc;
static uv_realloc_func reallocate_fn = realloc;
static uv_calloc_func allocate_zeroed_fn = calloc;
static uv_free_func free_fn = free;

void *uvnative__malloc(size_t size) { return size > 0 ? allocate_fn(size) : NULL; }
void *uvnative__calloc(size_t count, size_t size) { return allocate_zeroed_fn(count, size); }
void uvnative__free(void *pointer) {
    int saved = errno;
    free_fn(pointer);
    errno = saved;
}

static char *duplicate(const char *text) {
    size_t length = strlen(text) + 1;
    char *copy = uvnative__malloc(length);
    if (copy != NULL)
        memcpy(copy, text, length);
    return copy;
}

/* uv_replace_allocator: all four functions or UV_EINVAL. */
int uv_replace_allocator(uv_malloc_func malloc_func, uv_realloc_func realloc_func,
                         uv_calloc_func calloc_func, uv_free_func free_func) {
    if (malloc_func == NULL || realloc_func == NULL || calloc_func == NULL || free_func == NULL)
        return UV_EINVAL;
    allocate_fn = malloc_func;
    reallocate_fn = realloc_func;
    allocate_zeroed_fn = calloc_func;
    free_fn = free_func;
    return 0;
}

/* Copies text into buffer of *size bytes: UV_ENOBUFS with *size set to the
   room needed (terminator included) when it does not fit, else 0 with
   *size set to its length. */
static int copy_out(const char *text, size_t length, char *buffer, size_t *size) {
    if (length >= *size) {
        *size = length + 1;
        return UV_ENOBUFS;
    }
    memcpy(buffer, text, length);
    buffer[length] = '\0';
    *size = length;
    return 0;
}

/* ---- Processes and environment ---- */

/* uv_os_getpid */
uv_pid_t uv_os_getpid(void) { return getpid(); }

/* uv_os_getppid */
uv_pid_t uv_os_getppid(void) { return getppid(); }

/* uv_os_getenv: UV_ENOENT when unset, UV_ENOBUFS (with the room needed in
   *size) when buffer is too small. */
int uv_os_getenv(const char *name, char *buffer, size_t *size) {
    const char *value;
    if (name == NULL || buffer == NULL || size == NULL || *size == 0)
        return UV_EINVAL;
    value = getenv(name);
    if (value == NULL)
        return UV_ENOENT;
    return copy_out(value, strlen(value), buffer, size);
}

/* uv_os_setenv */
int uv_os_setenv(const char *name, const char *value) {
    if (name == NULL || value == NULL)
        return UV_EINVAL;
    return setenv(name, value, 1) == 0 ? 0 : -errno;
}

/* uv_os_unsetenv */
int uv_os_unsetenv(const char *name) {
    if (name == NULL)
        return UV_EINVAL;
    return unsetenv(name) == 0 ? 0 : -errno;
}

/* uv_os_environ: a copy of the environment (entries without '=' left
   out), freed with uv_os_free_environ. */
int uv_os_environ(uv_env_item_t **envitems, int *count) {
    int total = 0, used = 0, i;
    uv_env_item_t *items;
    *envitems = NULL;
    *count = 0;
    while (environ[total] != NULL)
        total++;
    items = uvnative__calloc(total > 0 ? (size_t) total : 1, sizeof *items);
    if (items == NULL)
        return UV_ENOMEM;
    for (i = 0; i < total; i++) {
        char *entry, *equals;
        if (strchr(environ[i], '=') == NULL)
            continue;
        entry = duplicate(environ[i]);
        if (entry == NULL) {
            uv_os_free_environ(items, used);
            return UV_ENOMEM;
        }
        equals = strchr(entry, '=');
        *equals = '\0';
        items[used].name = entry;
        items[used].value = equals + 1;
        used++;
    }
    *envitems = items;
    *count = used;
    return 0;
}

/* uv_os_free_environ */
void uv_os_free_environ(uv_env_item_t *envitems, int count) {
    int i;
    for (i = 0; i < count; i++)
        uvnative__free(envitems[i].name);
    uvnative__free(envitems);
}

/* ---- The user ---- */

/* uv_os_get_passwd: the effective user's entry; its strings share one
   allocation, freed by uv_os_free_passwd. */
int uv_os_get_passwd(uv_passwd_t *pwd) {
    struct passwd entry, *found = NULL;
    size_t room = 2048;
    char *scratch;
    int err;
    size_t name_length, home_length, shell_length;

    if (pwd == NULL)
        return UV_EINVAL;
    for (;;) {
        scratch = malloc(room);
        if (scratch == NULL)
            return UV_ENOMEM;
        do
            err = getpwuid_r(geteuid(), &entry, scratch, room, &found);
        while (err == EINTR);
        if (err != ERANGE)
            break;
        free(scratch);
        room *= 2;
    }
    if (err != 0 || found == NULL) {
        free(scratch);
        return err != 0 ? -err : UV_ENOENT;
    }
    name_length = strlen(entry.pw_name) + 1;
    home_length = strlen(entry.pw_dir) + 1;
    shell_length = strlen(entry.pw_shell) + 1;
    pwd->username = uvnative__malloc(name_length + home_length + shell_length);
    if (pwd->username == NULL) {
        free(scratch);
        return UV_ENOMEM;
    }
    memcpy(pwd->username, entry.pw_name, name_length);
    pwd->homedir = pwd->username + name_length;
    memcpy(pwd->homedir, entry.pw_dir, home_length);
    pwd->shell = pwd->homedir + home_length;
    memcpy(pwd->shell, entry.pw_shell, shell_length);
    pwd->uid = (long) entry.pw_uid;
    pwd->gid = (long) entry.pw_gid;
    free(scratch);
    return 0;
}

/* uv_os_free_passwd */
void uv_os_free_passwd(uv_passwd_t *pwd) {
    if (pwd == NULL)
        return;
    uvnative__free(pwd->username);
    pwd->username = NULL;
    pwd->homedir = NULL;
    pwd->shell = NULL;
}

/* uv_os_homedir: $HOME, else the user's entry. */
int uv_os_homedir(char *buffer, size_t *size) {
    uv_passwd_t pwd;
    int err = uv_os_getenv("HOME", buffer, size);
    if (err != UV_ENOENT)
        return err;
    err = uv_os_get_passwd(&pwd);
    if (err != 0)
        return err;
    err = copy_out(pwd.homedir, strlen(pwd.homedir), buffer, size);
    uv_os_free_passwd(&pwd);
    return err;
}

/* uv_os_tmpdir: $TMPDIR, $TMP, $TEMP or $TEMPDIR, else "/tmp"; without a
   trailing slash. */
int uv_os_tmpdir(char *buffer, size_t *size) {
    static const char *const names[] = {"TMPDIR", "TMP", "TEMP", "TEMPDIR"};
    const char *dir = NULL;
    size_t length, i;
    if (buffer == NULL || size == NULL || *size == 0)
        return UV_EINVAL;
    for (i = 0; i < sizeof names / sizeof names[0] && dir == NULL; i++)
        dir = getenv(names[i]);
    if (dir == NULL)
        dir = "/tmp";
    length = strlen(dir);
    if (length >= *size) {
        *size = length + 1;
        return UV_ENOBUFS;
    }
    if (length > 1 && dir[length - 1] == '/')
        length--;
    return copy_out(dir, length, buffer, size);
}

/* ---- The host ---- */

/* uv_os_gethostname */
int uv_os_gethostname(char *buffer, size_t *size) {
    char name[UV_MAXHOSTNAMESIZE];
    if (buffer == NULL || size == NULL || *size == 0)
        return UV_EINVAL;
    if (gethostname(name, sizeof name) != 0)
        return -errno;
    name[sizeof name - 1] = '\0';
    return copy_out(name, strlen(name), buffer, size);
}

static int copy_field(char *to, size_t room, const char *from) {
    size_t length = strlen(from);
    if (length >= room)
        return UV_E2BIG;
    memcpy(to, from, length + 1);
    return 0;
}

/* uv_os_uname: UV_E2BIG (and empty fields) when a field does not fit. */
int uv_os_uname(uv_utsname_t *buffer) {
    struct utsname names;
    int err;
    if (buffer == NULL)
        return UV_EINVAL;
    if (uname(&names) == -1)
        err = -errno;
    else if ((err = copy_field(buffer->sysname, sizeof buffer->sysname, names.sysname)) == 0
             && (err = copy_field(buffer->release, sizeof buffer->release, names.release)) == 0
             && (err = copy_field(buffer->version, sizeof buffer->version, names.version)) == 0
             && (err = copy_field(buffer->machine, sizeof buffer->machine, names.machine)) == 0)
        return 0;
    buffer->sysname[0] = buffer->release[0] = buffer->version[0] = buffer->machine[0] = '\0';
    return err;
}

/* ---- Directories ---- */

/* uv_cwd: without a trailing slash (but "/"); UV_ENOBUFS with the room
   needed when buffer is too small. */
int uv_cwd(char *buffer, size_t *size) {
    char scratch[PATH_MAX + 1];
    const char *dir;
    size_t length;
    if (buffer == NULL || size == NULL || *size == 0)
        return UV_EINVAL;
    if (getcwd(scratch, sizeof scratch) == NULL)
        return -errno;
    dir = scratch;
    length = strlen(dir);
    if (length > 1 && dir[length - 1] == '/')
        length--;
    return copy_out(dir, length, buffer, size);
}

/* uv_chdir */
int uv_chdir(const char *dir) { return chdir(dir) == 0 ? 0 : -errno; }

/* uv_exepath: this process's executable, truncated to *size - 1 bytes. */
int uv_exepath(char *buffer, size_t *size) {
    char path[PATH_MAX];
    ssize_t n;
    if (buffer == NULL || size == NULL || *size == 0)
        return UV_EINVAL;
    n = readlink("/proc/self/exe", path, sizeof path - 1);
    if (n == -1)
        return -errno;
    if ((size_t) n > *size - 1)
        n = (ssize_t) (*size - 1);
    memcpy(buffer, path, (size_t) n);
    buffer[n] = '\0';
    *size = (size_t) n;
    return 0;
}

/* ---- Memory, time, load, CPUs ---- */

/* Reads a small file whole into buffer (NUL-terminated): 0 or -errno. */
static int read_file(const char *path, char *buffer, size_t room) {
    int fd;
    size_t have = 0;
    do
        fd = open(path, O_RDONLY | O_CLOEXEC);
    while (fd == -1 && errno == EINTR);
    if (fd == -1)
        return -errno;
    while (have < room - 1) {
        ssize_t n = read(fd, buffer + have, room - 1 - have);
        if (n == -1 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        have += (size_t) n;
    }
    close(fd);
    buffer[have] = '\0';
    return 0;
}

/* A "Key:   N kB" line of /proc/meminfo in bytes, or 0. */
static uint64_t meminfo(const char *key) {
    char text[8192];
    const char *at;
    uint64_t kib = 0;
    if (read_file("/proc/meminfo", text, sizeof text) != 0)
        return 0;
    at = strstr(text, key);
    if (at == NULL)
        return 0;
    if (sscanf(at + strlen(key), " %" SCNu64, &kib) != 1)
        return 0;
    return kib * 1024;
}

/* uv_get_free_memory: MemAvailable, else sysinfo's free RAM. */
uint64_t uv_get_free_memory(void) {
    struct sysinfo info;
    uint64_t bytes = meminfo("MemAvailable:");
    if (bytes != 0)
        return bytes;
    return sysinfo(&info) == 0 ? (uint64_t) info.freeram * info.mem_unit : 0;
}

/* uv_get_total_memory: MemTotal, else sysinfo's total RAM. */
uint64_t uv_get_total_memory(void) {
    struct sysinfo info;
    uint64_t bytes = meminfo("MemTotal:");
    if (bytes != 0)
        return bytes;
    return sysinfo(&info) == 0 ? (uint64_t) info.totalram * info.mem_unit : 0;
}

/* uv_get_constrained_memory: the cgroup v1 memory limit, 0 when unknown
   (1.44.2 reads cgroup v1 only). */
uint64_t uv_get_constrained_memory(void) {
    char text[64];
    uint64_t limit = 0;
    if (read_file("/sys/fs/cgroup/memory/memory.limit_in_bytes", text, sizeof text) == 0)
        sscanf(text, "%" SCNu64, &limit);
    return limit;
}

/* uv_uptime: seconds since boot. */
int uv_uptime(double *uptime) {
    char text[128];
    struct timespec now;
    if (read_file("/proc/uptime", text, sizeof text) == 0 && sscanf(text, "%lf", uptime) == 1)
        return 0;
    if (clock_gettime(CLOCK_BOOTTIME, &now) != 0)
        return -errno;
    *uptime = (double) now.tv_sec;
    return 0;
}

/* uv_loadavg: the 1, 5 and 15 minute load averages (zeros if unknown). */
void uv_loadavg(double avg[3]) {
    char text[128];
    avg[0] = avg[1] = avg[2] = 0;
    if (read_file("/proc/loadavg", text, sizeof text) == 0)
        if (sscanf(text, "%lf %lf %lf", &avg[0], &avg[1], &avg[2]) != 3)
            avg[0] = avg[1] = avg[2] = 0;
}

/* uv_resident_set_memory: field 24 of /proc/self/stat, in bytes. */
int uv_resident_set_memory(size_t *rss) {
    char text[1024];
    const char *at;
    long pages;
    int field;
    int err = read_file("/proc/self/stat", text, sizeof text);
    if (err != 0)
        return err;
    at = strrchr(text, ')');  /* the command name may hold spaces */
    if (at == NULL)
        return UV_EINVAL;
    for (field = 2; field < 24; field++) {
        at = strchr(at + 1, ' ');
        if (at == NULL)
            return UV_EINVAL;
    }
    errno = 0;
    pages = strtol(at, NULL, 10);
    if (errno != 0 || pages < 0)
        return UV_EINVAL;
    *rss = (size_t) pages * (size_t) getpagesize();
    return 0;
}

/* uv_getrusage: this process's. */
int uv_getrusage(uv_rusage_t *rusage) {
    struct rusage usage;
    if (getrusage(RUSAGE_SELF, &usage) != 0)
        return -errno;
    rusage->ru_utime.tv_sec = usage.ru_utime.tv_sec;
    rusage->ru_utime.tv_usec = usage.ru_utime.tv_usec;
    rusage->ru_stime.tv_sec = usage.ru_stime.tv_sec;
    rusage->ru_stime.tv_usec = usage.ru_stime.tv_usec;
    rusage->ru_maxrss = (uint64_t) usage.ru_maxrss;
    rusage->ru_ixrss = (uint64_t) usage.ru_ixrss;
    rusage->ru_idrss = (uint64_t) usage.ru_idrss;
    rusage->ru_isrss = (uint64_t) usage.ru_isrss;
    rusage->ru_minflt = (uint64_t) usage.ru_minflt;
    rusage->ru_majflt = (uint64_t) usage.ru_majflt;
    rusage->ru_nswap = (uint64_t) usage.ru_nswap;
    rusage->ru_inblock = (uint64_t) usage.ru_inblock;
    rusage->ru_oublock = (uint64_t) usage.ru_oublock;
    rusage->ru_msgsnd = (uint64_t) usage.ru_msgsnd;
    rusage->ru_msgrcv = (uint64_t) usage.ru_msgrcv;
    rusage->ru_nsignals = (uint64_t) usage.ru_nsignals;
    rusage->ru_nvcsw = (uint64_t) usage.ru_nvcsw;
    rusage->ru_nivcsw = (uint64_t) usage.ru_nivcsw;
    return 0;
}

/* uv_gettimeofday */
int uv_gettimeofday(uv_timeval64_t *tv) {
    struct timeval now;
    if (tv == NULL)
        return UV_EINVAL;
    if (gettimeofday(&now, NULL) != 0)
        return -errno;
    tv->tv_sec = (int64_t) now.tv_sec;
    tv->tv_usec = (int32_t) now.tv_usec;
    return 0;
}

/* uv_available_parallelism: the CPUs this process may run on (at least 1). */
unsigned int uv_available_parallelism(void) {
    cpu_set_t set;
    long count;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        count = CPU_COUNT(&set);
    else
        count = sysconf(_SC_NPROCESSORS_ONLN);
    return count < 1 ? 1u : (unsigned int) count;
}

/* uv_cpu_info: one entry per "cpuN" line of /proc/stat, times in
   milliseconds, model and speed (MHz) from /proc/cpuinfo and cpufreq. */
int uv_cpu_info(uv_cpu_info_t **cpu_infos, int *count) {
    static char stat_text[65536];
    static pthread_mutex_t stat_lock = PTHREAD_MUTEX_INITIALIZER;
    char *info_text;
    uv_cpu_info_t *cpus;
    int n = 0, i;
    long ticks = sysconf(_SC_CLK_TCK);
    uint64_t ms_per_tick = ticks > 0 ? (uint64_t) (1000 / ticks) : 10;
    const char *line;

    *cpu_infos = NULL;
    *count = 0;
    info_text = malloc(1 << 20);
    if (info_text == NULL)
        return UV_ENOMEM;
    pthread_mutex_lock(&stat_lock);
    if (read_file("/proc/stat", stat_text, sizeof stat_text) != 0) {
        pthread_mutex_unlock(&stat_lock);
        free(info_text);
        return UV_EIO;
    }
    for (line = stat_text; line != NULL && *line != '\0'; line = strchr(line, '\n'), line = line ? line + 1 : NULL)
        if (strncmp(line, "cpu", 3) == 0 && line[3] >= '0' && line[3] <= '9')
            n++;
    if (n == 0) {
        pthread_mutex_unlock(&stat_lock);
        free(info_text);
        return UV_ENOSYS;
    }
    cpus = uvnative__calloc((size_t) n, sizeof *cpus);
    if (cpus == NULL) {
        pthread_mutex_unlock(&stat_lock);
        free(info_text);
        return UV_ENOMEM;
    }
    i = 0;
    for (line = stat_text; line != NULL && *line != '\0' && i < n; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
        unsigned long long user, nice, sys, idle, iowait, irq;
        unsigned int number;
        if (strncmp(line, "cpu", 3) != 0 || line[3] < '0' || line[3] > '9')
            continue;
        if (sscanf(line, "cpu%u %llu %llu %llu %llu %llu %llu", &number, &user, &nice, &sys, &idle, &iowait, &irq) != 7)
            continue;
        cpus[i].cpu_times.user = user * ms_per_tick;
        cpus[i].cpu_times.nice = nice * ms_per_tick;
        cpus[i].cpu_times.sys = sys * ms_per_tick;
        cpus[i].cpu_times.idle = idle * ms_per_tick;
        cpus[i].cpu_times.irq = irq * ms_per_tick;
        {
            char path[96], text[32];
            unsigned long khz = 0;
            snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%u/cpufreq/scaling_cur_freq", number);
            if (read_file(path, text, sizeof text) == 0)
                khz = strtoul(text, NULL, 10);
            cpus[i].speed = (int) (khz / 1000);
        }
        i++;
    }
    pthread_mutex_unlock(&stat_lock);
    n = i;

    /* Models (and speeds cpufreq did not give) in /proc/cpuinfo's order. */
    if (read_file("/proc/cpuinfo", info_text, 1 << 20) != 0)
        info_text[0] = '\0';
    {
        int model_index = 0, speed_index = 0;
        for (line = info_text; line != NULL && *line != '\0'; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
            const char *colon = strchr(line, ':');
            const char *end = strchr(line, '\n');
            if (colon == NULL || (end != NULL && colon > end))
                continue;
            if (strncmp(line, "model name", 10) == 0 && model_index < n) {
                const char *value = colon + 2;
                size_t length = end != NULL ? (size_t) (end - value) : strlen(value);
                if (value > end && end != NULL)
                    length = 0;
                cpus[model_index].model = uvnative__malloc(length + 1);
                if (cpus[model_index].model != NULL) {
                    memcpy(cpus[model_index].model, value, length);
                    cpus[model_index].model[length] = '\0';
                }
                model_index++;
            } else if (strncmp(line, "cpu MHz", 7) == 0 && speed_index < n) {
                if (cpus[speed_index].speed == 0)
                    cpus[speed_index].speed = (int) strtod(colon + 1, NULL);
                speed_index++;
            }
        }
    }
    free(info_text);
    for (i = 0; i < n; i++)
        if (cpus[i].model == NULL)
            cpus[i].model = duplicate("unknown");
    *cpu_infos = cpus;
    *count = n;
    return 0;
}

/* uv_free_cpu_info */
void uv_free_cpu_info(uv_cpu_info_t *cpu_infos, int count) {
    int i;
    for (i = 0; i < count; i++)
        uvnative__free(cpu_infos[i].model);
    uvnative__free(cpu_infos);
}

/* ---- Network interfaces ---- */

static int listed(const struct ifaddrs *entry) {
    if (!(entry->ifa_flags & IFF_UP) || !(entry->ifa_flags & IFF_RUNNING))
        return 0;
    if (entry->ifa_addr == NULL)
        return 0;
    return entry->ifa_addr->sa_family == AF_INET || entry->ifa_addr->sa_family == AF_INET6;
}

/* uv_interface_addresses: the IPv4 and IPv6 addresses of the interfaces
   that are up and running, with their netmask and hardware address. */
int uv_interface_addresses(uv_interface_address_t **addresses, int *count) {
    struct ifaddrs *all, *entry, *link;
    uv_interface_address_t *out;
    int n = 0;

    *addresses = NULL;
    *count = 0;
    if (getifaddrs(&all) != 0)
        return -errno;
    for (entry = all; entry != NULL; entry = entry->ifa_next)
        if (listed(entry))
            n++;
    if (n == 0) {
        freeifaddrs(all);
        return 0;
    }
    out = uvnative__calloc((size_t) n, sizeof *out);
    if (out == NULL) {
        freeifaddrs(all);
        return UV_ENOMEM;
    }
    n = 0;
    for (entry = all; entry != NULL; entry = entry->ifa_next) {
        if (!listed(entry))
            continue;
        out[n].name = duplicate(entry->ifa_name);
        if (entry->ifa_addr->sa_family == AF_INET6)
            out[n].address.address6 = *(const struct sockaddr_in6 *) entry->ifa_addr;
        else
            out[n].address.address4 = *(const struct sockaddr_in *) entry->ifa_addr;
        if (entry->ifa_netmask != NULL) {
            if (entry->ifa_netmask->sa_family == AF_INET6)
                out[n].netmask.netmask6 = *(const struct sockaddr_in6 *) entry->ifa_netmask;
            else
                out[n].netmask.netmask4 = *(const struct sockaddr_in *) entry->ifa_netmask;
        }
        out[n].is_internal = (entry->ifa_flags & IFF_LOOPBACK) != 0;
        for (link = all; link != NULL; link = link->ifa_next) {
            const struct sockaddr_ll *hardware;
            if (link->ifa_addr == NULL || link->ifa_addr->sa_family != AF_PACKET)
                continue;
            if (strcmp(link->ifa_name, entry->ifa_name) != 0)
                continue;
            hardware = (const struct sockaddr_ll *) link->ifa_addr;
            memcpy(out[n].phys_addr, hardware->sll_addr, sizeof out[n].phys_addr);
            break;
        }
        n++;
    }
    freeifaddrs(all);
    *addresses = out;
    *count = n;
    return 0;
}

/* uv_free_interface_addresses */
void uv_free_interface_addresses(uv_interface_address_t *addresses, int count) {
    int i;
    for (i = 0; i < count; i++)
        uvnative__free(addresses[i].name);
    uvnative__free(addresses);
}

/* ---- The process title ---- */

static pthread_mutex_t title_lock = PTHREAD_MUTEX_INITIALIZER;
static char **argv_copy;    /* what uv_setup_args returned */
static char *title;         /* the original argv area, overwritten by the title */
static size_t title_length;
static size_t title_room;   /* argv[0] .. the end of the last argument */

/* uv_setup_args: a copy of argv for the program, so that the original area
   can hold the process title. */
char **uv_setup_args(int argc, char **argv) {
    size_t room = 0, pointers;
    char **copy;
    char *strings;
    int i;
    if (argc <= 0)
        return argv;
    for (i = 0; i < argc; i++)
        room += strlen(argv[i]) + 1;
    pointers = (size_t) (argc + 1) * sizeof(char *);
    copy = uvnative__malloc(pointers + room);
    if (copy == NULL)
        return argv;
    strings = (char *) copy + pointers;
    for (i = 0; i < argc; i++) {
        size_t length = strlen(argv[i]) + 1;
        memcpy(strings, argv[i], length);
        copy[i] = strings;
        strings += length;
    }
    copy[argc] = NULL;
    pthread_mutex_lock(&title_lock);
    title = argv[0];
    title_length = strlen(argv[0]);
    title_room = (size_t) (argv[argc - 1] + strlen(argv[argc - 1]) + 1 - argv[0]);
    argv_copy = copy;
    pthread_mutex_unlock(&title_lock);
    return copy;
}

/* uv_set_process_title: UV_ENOBUFS before uv_setup_args; a title longer
   than the original arguments is cut to fit. */
int uv_set_process_title(const char *text) {
    size_t length = strlen(text);
    pthread_mutex_lock(&title_lock);
    if (argv_copy == NULL) {
        pthread_mutex_unlock(&title_lock);
        return UV_ENOBUFS;
    }
    if (length >= title_room)
        length = title_room > 0 ? title_room - 1 : 0;
    memcpy(title, text, length);
    memset(title + length, 0, title_room - length);
    title_length = length;
    prctl(PR_SET_NAME, title);
    pthread_mutex_unlock(&title_lock);
    return 0;
}

/* uv_get_process_title: UV_EINVAL without a buffer, UV_ENOBUFS before
   uv_setup_args or when the buffer is too small. */
int uv_get_process_title(char *buffer, size_t size) {
    if (buffer == NULL || size == 0)
        return UV_EINVAL;
    pthread_mutex_lock(&title_lock);
    if (argv_copy == NULL || size <= title_length) {
        pthread_mutex_unlock(&title_lock);
        return UV_ENOBUFS;
    }
    memcpy(buffer, title, title_length);
    buffer[title_length] = '\0';
    pthread_mutex_unlock(&title_lock);
    return 0;
}

/* uv_library_shutdown: frees the argument copy; once only. */
void uv_library_shutdown(void) {
    static int done;
    if (__atomic_exchange_n(&done, 1, __ATOMIC_ACQ_REL))
        return;
    pthread_mutex_lock(&title_lock);
    uvnative__free(argv_copy);
    argv_copy = NULL;
    pthread_mutex_unlock(&title_lock);
}

/* uv_os_getpriority */
int uv_os_getpriority(uv_pid_t pid, int *priority) {
    int value;
    if (priority == NULL)
        return UV_EINVAL;
    errno = 0;
    value = getpriority(PRIO_PROCESS, (id_t) pid);
    if (value == -1 && errno != 0)
        return -errno;
    *priority = value;
    return 0;
}

/* uv_os_setpriority: UV_EINVAL outside UV_PRIORITY_HIGHEST..UV_PRIORITY_LOW. */
int uv_os_setpriority(uv_pid_t pid, int priority) {
    if (priority < UV_PRIORITY_HIGHEST || priority > UV_PRIORITY_LOW)
        return UV_EINVAL;
    return setpriority(PRIO_PROCESS, (id_t) pid, priority) == 0 ? 0 : -errno;
}

/* uv_get_osfhandle: a descriptor is its own handle on Unix. */
uv_os_fd_t uv_get_osfhandle(int fd) { return fd; }

/* uv_open_osfhandle */
int uv_open_osfhandle(uv_os_fd_t os_fd) { return os_fd; }

/* uv_kill */
int uv_kill(int pid, int signum) { return kill(pid, signum) == 0 ? 0 : -errno; }

/* uv_disable_stdio_inheritance: close-on-exec for descriptors 0-15, then
   for the ones after until the first that is not open. */
void uv_disable_stdio_inheritance(void) {
    int fd;
    for (fd = 0;; fd++) {
        int flags = fcntl(fd, F_GETFD);
        if (flags == -1) {
            if (fd > 15)
                break;
            continue;
        }
        fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
    }
}
