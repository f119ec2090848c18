#ifndef FREE_AGENT_CLIBARCHIVE_SHIM_H
#define FREE_AGENT_CLIBARCHIVE_SHIM_H
#include <archive.h>
#include <archive_entry.h>
#endif
