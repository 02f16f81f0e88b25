// metaops makes the changes that fail on a read-only file system, and
// binds and connects a unix socket. Usage: metaops DIR (DIR/in.txt exists).
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>

int main(int argc, char **argv) {
	if (argc < 2 || chdir(argv[1]) != 0)
		return 10;
	link("in.txt", "hard");
	symlink("in.txt", "sym");
	chmod("in.txt", 0600);
	int fd = open("in.txt", O_RDONLY);
	fchmod(fd, 0644);
	fchown(fd, getuid(), getgid());
	chown("in.txt", getuid(), getgid());
	utimensat(AT_FDCWD, "in.txt", NULL, 0);
	truncate("hard", 1);
	mknod("fifo", S_IFIFO | 0644, 0);
	char buf[64];
	getxattr("in.txt", "user.none", buf, sizeof buf);
	struct statfs sfs;
	statfs(".", &sfs);

	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	strcpy(sa.sun_path, "sock");
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	if (bind(s, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(s, 1) != 0)
		return 11;
	int c = socket(AF_UNIX, SOCK_STREAM, 0);
	if (connect(c, (struct sockaddr *)&sa, sizeof sa) != 0)
		return 12;
	return 0;
}
