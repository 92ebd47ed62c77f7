// RocksDB's C API, from Debian's librocksdb-dev (7.x). Only FreshetRocksDB imports it.
#include <rocksdb/c.h>
