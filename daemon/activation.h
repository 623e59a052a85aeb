/*
 * Listening sockets handed over by a service manager: systemd's LISTEN_FDS
 * protocol (implemented here, without libsystemd) and launchd's
 * launch_activate_socket (macOS only).
 */
#ifndef CCR_ACTIVATION_H
#define CCR_ACTIVATION_H

#include <stddef.h>

/*
 * The inherited listening socket, if a service manager started us: returns its
 * fd (close-on-exec set, the LISTEN_* variables unset), -1 when we were not
 * socket-activated, or -2 with err set when the hand-over is unusable.
 */
int activation_socket(char *err, size_t errsize);

#endif
