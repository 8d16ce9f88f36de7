#include "CTestSupport.h"

#include <errno.h>
#include <stddef.h>
#include <pty.h>
#include <sys/ioctl.h>

int swiftuv_test_openpty(int *master, int *slave, unsigned short columns, unsigned short rows) {
    struct winsize ws = { .ws_row = rows, .ws_col = columns };
    if (openpty(master, slave, NULL, NULL, &ws) != 0)
        return -errno;
    return 0;
}
