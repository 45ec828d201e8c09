// Boost.JSON compiled into the fuzzer from its headers (instead of linking libboost_json), so the sanitizers
// instrument the JSON parser's reads of the fuzz input too.
#include <boost/json/src.hpp>
