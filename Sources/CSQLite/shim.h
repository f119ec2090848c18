#ifndef FREE_AGENT_CSQLITE_SHIM_H
#define FREE_AGENT_CSQLITE_SHIM_H
#include <sqlite3.h>
#endif
