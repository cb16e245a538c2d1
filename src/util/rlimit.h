/* rlimit.h - raising the process's limit on open files. */
#ifndef BARGE_RLIMIT_H
#define BARGE_RLIMIT_H

/*
 * rlimit_raise_nofile lifts the soft limit on open files to the hard limit,
 * once per process: every request in flight, on either side of a
 * connection, holds a descriptor, and the usual soft limit of 1,024 is far
 * below the thousands barge keeps open. Returns the soft limit now in force.
 */
long rlimit_raise_nofile(void);

#endif
