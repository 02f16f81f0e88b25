/* app: the cplugin fixture's entrypoint. It prints a greeting from libgreet
 * (a DT_NEEDED library found through RUNPATH $ORIGIN/../lib), then loads the
 * plugin named in /etc/cplugin.conf with dlopen, which no static ELF reading
 * of the app can see, and prints what the plugin returns. */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "greet.h"

int main(void) {
	printf("greet: %s\n", greet());

	FILE *f = fopen("/etc/cplugin.conf", "r");
	if (f == NULL) {
		perror("open /etc/cplugin.conf");
		return 1;
	}
	char path[4096];
	if (fgets(path, sizeof path, f) == NULL) {
		fprintf(stderr, "empty /etc/cplugin.conf\n");
		fclose(f);
		return 1;
	}
	fclose(f);
	path[strcspn(path, "\n")] = '\0';

	void *h = dlopen(path, RTLD_NOW);
	if (h == NULL) {
		fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
		return 1;
	}
	const char *(*name)(void) = (const char *(*)(void))dlsym(h, "plugin_name");
	double (*value)(void) = (double (*)(void))dlsym(h, "plugin_value");
	if (name == NULL || value == NULL) {
		fprintf(stderr, "dlsym: %s\n", dlerror());
		return 1;
	}
	printf("plugin: %s value=%.1f\n", name(), value());
	return 0;
}
