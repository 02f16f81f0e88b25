// helper opens ../data/helper.txt relative to its cwd and exits 5.
#include <fcntl.h>

int main(void) {
	open("../data/helper.txt", O_RDONLY);
	return 5;
}
