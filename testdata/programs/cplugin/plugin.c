/* hello.so: a plugin the app dlopen()s by a path read from /etc/cplugin.conf.
 * It needs libm, which only a loader that found the plugin would see. */
#include <math.h>

volatile double plugin_arg = 0.0;

const char *plugin_name(void) { return "hello-plugin"; }

double plugin_value(void) { return cos(plugin_arg); }
