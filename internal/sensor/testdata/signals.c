// signals prints "ready" and waits. With argument "handle" it exits 42 on
// SIGTERM and 43 on SIGUSR1; without, signals take their default action.
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void on(int sig) { _exit(sig == SIGTERM ? 42 : 43); }

int main(int argc, char **argv) {
	if (argc > 1 && strcmp(argv[1], "handle") == 0) {
		signal(SIGTERM, on);
		signal(SIGUSR1, on);
	}
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
