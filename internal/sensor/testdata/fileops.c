// fileops exercises the path-carrying system calls the sensor records.
// Usage: fileops DIR, where DIR holds data/{in.txt,thread.txt,child.txt,
// helper.txt,link} and bin/helper. Exits with the status of bin/helper.
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void *reader(void *arg) {
	int fd = open(arg, O_RDONLY);
	if (fd >= 0)
		close(fd);
	return NULL;
}

int main(int argc, char **argv) {
	struct stat st;
	char buf[256];
	if (argc < 2 || chdir(argv[1]) != 0)
		return 10;
	int dfd = open("data", O_RDONLY | O_DIRECTORY);
	int fd = openat(dfd, "in.txt", O_RDONLY);
	if (dfd < 0 || fd < 0)
		return 11;
	fstatat(dfd, "missing", &st, 0);
	faccessat(dfd, "in.txt", R_OK, 0);
	readlinkat(dfd, "link", buf, sizeof buf);
	mkdirat(dfd, "newdir", 0755);
	int w = openat(dfd, "out.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (w < 0 || write(w, "x", 1) != 1)
		return 12;
	close(w);
	renameat(dfd, "out.txt", dfd, "renamed.txt");
	unlinkat(dfd, "renamed.txt", 0);
	if (mmap(NULL, 1, PROT_READ, MAP_PRIVATE, fd, 0) == MAP_FAILED)
		return 13;
	struct open_how how = {.flags = O_WRONLY | O_CREAT, .mode = 0644};
	int o2 = syscall(SYS_openat2, dfd, "how.txt", &how, sizeof how);
	if (o2 < 0)
		return 14;
	close(o2);
	close(creat("data/creat.txt", 0644));
	struct statx stx;
	statx(fd, "", AT_EMPTY_PATH, STATX_SIZE, &stx); /* fstat: not a path */
	statx(AT_FDCWD, "data/in.txt", 0, STATX_SIZE, &stx);
	rmdir("data/newdir");
	chdir("nowhere");

	pthread_t t;
	pthread_create(&t, NULL, reader, "data/thread.txt");
	pthread_join(t, NULL);

	fchdir(dfd);
	stat("in.txt", &st);
	pid_t p = fork();
	if (p == 0)
		_exit(open("child.txt", O_RDONLY) >= 0 ? 0 : 1);
	waitpid(p, NULL, 0);

	chdir("../bin");
	pid_t q = fork();
	if (q == 0) {
		char *av[] = {"./helper", "arg1", NULL};
		execv("./helper", av);
		_exit(127);
	}
	int status = 0;
	waitpid(q, &status, 0);
	return WEXITSTATUS(status);
}
