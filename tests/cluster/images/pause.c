/* The pod sandbox's process (the "pause" container): holds the pod's namespaces, reaps zombies
 * when it is PID 1 of a shared PID namespace, and exits at once on SIGINT/SIGTERM. The test
 * cluster builds its own because no public registry is reachable here. */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void stop(int signal_number) { _exit(128 + signal_number); }

static void reap(int signal_number) {
  (void)signal_number;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

int main(void) {
  struct sigaction action = {0};
  action.sa_handler = stop;
  sigaction(SIGINT, &action, NULL);
  sigaction(SIGTERM, &action, NULL);
  action.sa_handler = reap;
  action.sa_flags = SA_NOCLDSTOP;
  sigaction(SIGCHLD, &action, NULL);
  for (;;) {
    pause();
  }
  return EXIT_FAILURE;
}
