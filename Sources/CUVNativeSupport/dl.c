/* Shared libraries (uv_dlopen and friends) over dlopen(3). */
#include <dlfcn.h>
#include <string.h>
#include "CUVNativeSupport.h"

/* Keeps dlerror()'s message in lib->errmsg: -1 when there was one. */
static int keep_error(uv_lib_t *lib) {
    const char *message;
    uvnative__free(lib->errmsg);
    lib->errmsg = NULL;
    message = dlerror();
    if (message == NULL)
        return 0;
    lib->errmsg = uvnative__malloc(strlen(message) + 1);
    if (lib->errmsg != NULL)
        strcpy(lib->errmsg, message);
    return -1;
}

/* uv_dlopen: -1 on failure, with the message for uv_dlerror. */
int uv_dlopen(const char *filename, uv_lib_t *lib) {
    dlerror();
    lib->errmsg = NULL;
    lib->handle = dlopen(filename, RTLD_LAZY);
    return lib->handle != NULL ? 0 : keep_error(lib);
}

/* uv_dlclose: frees the message and closes the library (errors ignored). */
void uv_dlclose(uv_lib_t *lib) {
    uvnative__free(lib->errmsg);
    lib->errmsg = NULL;
    if (lib->handle != NULL) {
        dlclose(lib->handle);
        lib->handle = NULL;
    }
}

/* uv_dlsym: -1 when the symbol is missing (or NULL), with the message. */
int uv_dlsym(uv_lib_t *lib, const char *name, void **ptr) {
    dlerror();
    *ptr = dlsym(lib->handle, name);
    return *ptr != NULL ? 0 : keep_error(lib);
}

/* uv_dlerror: the last message, or "no error". */
const char *uv_dlerror(const uv_lib_t *lib) {
    return lib->errmsg != NULL ? lib->errmsg : "no error";
}
