#pragma once
// Symbol visibility. Everything is hidden by default; AUTOTIMM_API marks what libautotimm exports, so that
// error types and interface vtables have exactly one definition shared by the core and every plugin.
#define AUTOTIMM_API __attribute__((visibility("default")))
