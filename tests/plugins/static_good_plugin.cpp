// The good plugin once more, linked into the test program: AUTOTIMM_STATIC_PLUGIN names its entry point after it.
#define AUTOTIMM_STATIC_PLUGIN 1
#include "good_plugin.cpp"
