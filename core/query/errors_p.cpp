#include "query/errors_p.h"

#include <QList>

#include <algorithm>

using namespace Qt::StringLiterals;

namespace Swamp::Query::Internal {

Error positionedError(const QString &code, const QString &message, qsizetype position,
                      qsizetype length, const QString &fix)
{
    Error error = makeError(code, message, fix);
    error.details.insert(u"position"_s, position);
    error.details.insert(u"length"_s, std::max<qsizetype>(length, 1));
    return error;
}

} // namespace Swamp::Query::Internal
