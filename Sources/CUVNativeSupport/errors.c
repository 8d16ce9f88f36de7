/* libuv's error names and messages: <uv.h>'s own UV_ERRNO_MAP gives both,
   so the table is the header's, not a copy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "CUVNativeSupport.h"

/* libuv hands out an allocated "Unknown system error N" (leaked, as libuv
   does) for a code it does not know. */
static const char *unknown_error(int err) {
    char text[40];
    char *copy;
    snprintf(text, sizeof text, "Unknown system error %d", err);
    copy = strdup(text);
    return copy != NULL ? copy : "Unknown system error";
}

/* A known code's name ("EINVAL"), or NULL. */
static const char *known_name(int err) {
    switch (err) {
#define NAME(code, _) case UV_##code: return #code;
    UV_ERRNO_MAP(NAME)
#undef NAME
    }
    return NULL;
}

/* A known code's message ("invalid argument"), or NULL. */
static const char *known_message(int err) {
    switch (err) {
#define MESSAGE(code, text) case UV_##code: return text;
    UV_ERRNO_MAP(MESSAGE)
#undef MESSAGE
    }
    return NULL;
}

/* text, or "Unknown system error N" without it, into buf (truncated). */
static char *write_out(const char *text, int err, char *buf, size_t buflen) {
    if (buflen == 0)
        return buf;
    if (text != NULL)
        snprintf(buf, buflen, "%s", text);
    else
        snprintf(buf, buflen, "Unknown system error %d", err);
    return buf;
}

/* uv_err_name: "EINVAL" for UV_EINVAL. */
const char *uv_err_name(int err) {
    const char *name = known_name(err);
    return name != NULL ? name : unknown_error(err);
}

/* uv_strerror: "invalid argument" for UV_EINVAL. */
const char *uv_strerror(int err) {
    const char *text = known_message(err);
    return text != NULL ? text : unknown_error(err);
}

/* uv_err_name_r: the name into buf (truncated to buflen); returns buf. */
char *uv_err_name_r(int err, char *buf, size_t buflen) {
    return write_out(known_name(err), err, buf, buflen);
}

/* uv_strerror_r: the message into buf (truncated to buflen); returns buf. */
char *uv_strerror_r(int err, char *buf, size_t buflen) {
    return write_out(known_message(err), err, buf, buflen);
}

/* uv_translate_sys_error: an errno value as a libuv code (negative);
   a code that is already negative is returned as it is. */
int uv_translate_sys_error(int sys_errno) {
    return sys_errno <= 0 ? sys_errno : -sys_errno;
}
