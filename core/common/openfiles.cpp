#include "common/openfiles.h"

#include <sys/resource.h>

namespace Swamp {

OpenFileLimit raiseOpenFileLimit()
{
    OpenFileLimit result;
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0)
        return result;
    const auto value = [](rlim_t v) { return v == RLIM_INFINITY ? qint64(-1) : qint64(v); };
    result.before = value(limit.rlim_cur);
    result.hard = value(limit.rlim_max);
    if (limit.rlim_cur != limit.rlim_max) {
        rlimit raised = limit;
        raised.rlim_cur = limit.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
            limit = raised;
    }
    result.limit = value(limit.rlim_cur);
    return result;
}

} // namespace Swamp
