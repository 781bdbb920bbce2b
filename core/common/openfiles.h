#pragma once

#include <QtGlobal>

namespace Swamp {

struct OpenFileLimit
{
    qint64 before = -1; // soft limit found at start
    qint64 limit = -1;  // soft limit now (raised to the hard limit when it could be)
    qint64 hard = -1;
};

// Raises this process's soft RLIMIT_NOFILE to its hard limit (every connection is a file).
OpenFileLimit raiseOpenFileLimit();

} // namespace Swamp
