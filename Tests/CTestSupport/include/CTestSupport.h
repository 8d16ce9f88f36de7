#ifndef SWIFTUV_CTESTSUPPORT_H
#define SWIFTUV_CTESTSUPPORT_H

/* Helpers for the tests only: C calls the Glibc module does not export. */

/* Opens a pseudo-terminal of the given size; 0 or -errno. */
int swiftuv_test_openpty(int *master, int *slave, unsigned short columns, unsigned short rows);

#endif
