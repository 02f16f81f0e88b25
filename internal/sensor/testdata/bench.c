// bench makes N system calls of one kind: bench stat|write|getppid N.
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
	long n = atol(argv[2]);
	struct stat st;
	int fd = open("/dev/null", O_WRONLY);
	for (long i = 0; i < n; i++) {
		if (strcmp(argv[1], "stat") == 0)
			stat("/etc/hostname", &st);
		else if (strcmp(argv[1], "write") == 0)
			write(fd, "x", 1);
		else
			syscall(SYS_getppid);
	}
	return 0;
}
