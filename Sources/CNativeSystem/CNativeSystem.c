/* Most helpers are in include/CNativeSystem.h. */
#define _GNU_SOURCE
#include <pthread.h>

/* The name of a thread of this process (pthread_getname_np), for messages. */
int cnative_thread_name(unsigned long thread, char *buffer, unsigned long length) {
    return pthread_getname_np((pthread_t)thread, buffer, length);
}
