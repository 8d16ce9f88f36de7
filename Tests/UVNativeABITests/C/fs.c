/* The file system through libuv's API, synchronous and asynchronous: the
   Swift test runs it on libuv and on libUVNative.so and compares. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#define SHOW(label, expr) do { int shown_ = (expr); printf("%s %d %s\n", label, shown_, shown_ < 0 ? uv_err_name(shown_) : ""); } while (0)
#define CHECK(expr) do { if (!(expr)) { printf("FAILED: %s (line %d)\n", #expr, __LINE__); exit(1); } } while (0)

static char dir[64], file[96], link_path[96], copy[96];
static uv_fs_t async_req;
static char read_buffer[32];
static int step;

static void on_fs(uv_fs_t *req);

static void next(uv_loop_t *loop) {
    uv_buf_t buf = uv_buf_init(read_buffer, sizeof read_buffer);
    switch (step++) {
    case 0: CHECK(0 == uv_fs_open(loop, &async_req, file, O_RDONLY, 0, on_fs)); break;
    case 1: CHECK(0 == uv_fs_read(loop, &async_req, (uv_file) async_req.result, &buf, 1, 6, on_fs)); break;
    case 2: CHECK(0 == uv_fs_stat(loop, &async_req, file, on_fs)); break;
    case 3: CHECK(0 == uv_fs_scandir(loop, &async_req, dir, 0, on_fs)); break;
    case 4: CHECK(0 == uv_fs_unlink(loop, &async_req, "/no/such/file", on_fs)); break;
    default: break;
    }
}

static void on_fs(uv_fs_t *req) {
    static uv_file fd = -1;
    uv_dirent_t entry;
    printf("async %s result %zd path %s\n", uv_req_type_name(req->type), uv_fs_get_type(req) == UV_FS_OPEN ? (ssize_t) (req->result >= 0) : req->result,
           req->path == NULL ? "(null)" : (strcmp(req->path, file) == 0 ? "file" : req->path == dir || strcmp(req->path, dir) == 0 ? "dir" : req->path));
    switch (uv_fs_get_type(req)) {
    case UV_FS_OPEN: fd = (uv_file) req->result; break;
    case UV_FS_READ: printf("read '%.*s'\n", (int) req->result, read_buffer); break;
    case UV_FS_STAT: printf("stat size %llu ptr %d\n", (unsigned long long) req->statbuf.st_size, req->ptr == &req->statbuf); break;
    case UV_FS_SCANDIR:
        while (uv_fs_scandir_next(req, &entry) == 0) printf("entry %s type %d\n", entry.name, entry.type);
        printf("next after end %s\n", uv_err_name(uv_fs_scandir_next(req, &entry)));
        break;
    case UV_FS_UNLINK: printf("unlink error %s system %d\n", uv_err_name((int) req->result), uv_fs_get_system_error(req)); break;
    default: break;
    }
    if (uv_fs_get_type(req) == UV_FS_READ) {
        uv_fs_t close_req;
        CHECK(0 == uv_fs_close(NULL, &close_req, fd, NULL));
        uv_fs_req_cleanup(&close_req);
    }
    uv_fs_req_cleanup(req);
    next(req->loop);
}

int main(void) {
    uv_loop_t *loop = uv_default_loop();
    uv_fs_t req;
    uv_buf_t bufs[2];
    uv_dir_t *d;
    uv_dirent_t dirents[4];
    int fd, r, i;

    snprintf(dir, sizeof dir, "/tmp/uvnative-fs-%d-XXXXXX", (int) getpid());
    CHECK(0 == uv_fs_mkdtemp(NULL, &req, dir, NULL));
    snprintf(dir, sizeof dir, "%s", req.path);
    printf("mkdtemp filled %d\n", strstr(req.path, "XXXXXX") == NULL);
    uv_fs_req_cleanup(&req);
    snprintf(file, sizeof file, "%s/data", dir);
    snprintf(link_path, sizeof link_path, "%s/link", dir);
    snprintf(copy, sizeof copy, "%s/copy", dir);

    fd = uv_fs_open(NULL, &req, file, O_WRONLY | O_CREAT | O_TRUNC, 0644, NULL);
    CHECK(fd >= 0 && req.result == fd);
    uv_fs_req_cleanup(&req);
    bufs[0] = uv_buf_init("hello ", 6);
    bufs[1] = uv_buf_init("world\n", 6);
    printf("write %d\n", uv_fs_write(NULL, &req, fd, bufs, 2, -1, NULL));
    uv_fs_req_cleanup(&req);
    printf("write nothing %s\n", uv_err_name(uv_fs_write(NULL, &req, fd, bufs, 0, -1, NULL)));
    SHOW("fsync", uv_fs_fsync(NULL, &req, fd, NULL));
    SHOW("fdatasync", uv_fs_fdatasync(NULL, &req, fd, NULL));
    SHOW("fstat", uv_fs_fstat(NULL, &req, fd, NULL));
    printf("fstat size %llu\n", (unsigned long long) req.statbuf.st_size);
    uv_fs_req_cleanup(&req);
    SHOW("close", uv_fs_close(NULL, &req, fd, NULL));
    SHOW("close again", uv_fs_close(NULL, &req, fd, NULL));

    printf("open missing %s\n", uv_err_name(uv_fs_open(NULL, &req, "/no/such/file", O_RDONLY, 0, NULL)));
    uv_fs_req_cleanup(&req);
    printf("null req %s\n", uv_err_name(uv_fs_open(NULL, NULL, file, O_RDONLY, 0, NULL)));
    printf("symlink %d\n", uv_fs_symlink(NULL, &req, file, link_path, 0, NULL));
    uv_fs_req_cleanup(&req);
    r = uv_fs_readlink(NULL, &req, link_path, NULL);
    printf("readlink %d %d\n", r, r == 0 && strcmp(req.ptr, file) == 0);
    uv_fs_req_cleanup(&req);
    r = uv_fs_realpath(NULL, &req, link_path, NULL);
    printf("realpath %d %s\n", r, r == 0 ? strrchr(req.ptr, '/') : "");
    uv_fs_req_cleanup(&req);
    SHOW("lstat", uv_fs_lstat(NULL, &req, link_path, NULL));
    printf("lstat link %d\n", S_ISLNK(req.statbuf.st_mode));
    uv_fs_req_cleanup(&req);
    SHOW("copyfile", uv_fs_copyfile(NULL, &req, file, copy, 0, NULL));
    uv_fs_req_cleanup(&req);
    SHOW("copyfile excl", uv_fs_copyfile(NULL, &req, file, copy, UV_FS_COPYFILE_EXCL, NULL));
    uv_fs_req_cleanup(&req);
    SHOW("copyfile bad flags", uv_fs_copyfile(NULL, &req, file, copy, 64, NULL));
    SHOW("access", uv_fs_access(NULL, &req, copy, R_OK, NULL));
    SHOW("chmod", uv_fs_chmod(NULL, &req, copy, 0600, NULL));
    SHOW("utime", uv_fs_utime(NULL, &req, copy, 1000000, 2000000, NULL));
    SHOW("stat", uv_fs_stat(NULL, &req, copy, NULL));
    printf("stat mode %o mtime %lld\n", (unsigned) (req.statbuf.st_mode & 0777), (long long) req.statbuf.st_mtim.tv_sec);
    uv_fs_req_cleanup(&req);
    SHOW("mkstemp bad", uv_fs_mkstemp(NULL, &req, "nope", NULL));
    printf("mkstemp bad path '%s'\n", req.path);
    uv_fs_req_cleanup(&req);

    CHECK(0 == uv_fs_opendir(NULL, &req, dir, NULL));
    d = req.ptr;
    uv_fs_req_cleanup(&req);
    d->dirents = dirents;
    d->nentries = 4;
    r = uv_fs_readdir(NULL, &req, d, NULL);
    printf("readdir %d\n", r);
    uv_fs_req_cleanup(&req);
    printf("readdir end %d\n", uv_fs_readdir(NULL, &req, d, NULL));
    uv_fs_req_cleanup(&req);
    printf("closedir %d\n", uv_fs_closedir(NULL, &req, d, NULL));
    uv_fs_req_cleanup(&req);
    printf("statfs %d\n", uv_fs_statfs(NULL, &req, dir, NULL));
    uv_fs_req_cleanup(&req);

    next(loop);
    CHECK(0 == uv_run(loop, UV_RUN_DEFAULT));

    for (i = 0; i < 3; i++) {
        const char *names[3] = {file, link_path, copy};
        CHECK(0 == uv_fs_unlink(NULL, &req, names[i], NULL));
        uv_fs_req_cleanup(&req);
    }
    printf("rmdir %d\n", uv_fs_rmdir(NULL, &req, dir, NULL));
    uv_fs_req_cleanup(&req);
    CHECK(0 == uv_loop_close(loop));
    printf("done\n");
    return 0;
}
