#ifndef SWIFTUV_CUVLAYOUT_SHIM_H
#define SWIFTUV_CUVLAYOUT_SHIM_H

/* <uv.h> for its types and layouts only: this module has no link line, so
   the native ABI (UVNativeABI) never links libuv. */
#include <uv.h>

#endif
