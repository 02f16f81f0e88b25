/* libgreet.so.1: a DT_NEEDED library the app finds through RUNPATH $ORIGIN/../lib. */
#include "greet.h"

const char *greet(void) { return "hello from libgreet"; }
