#include "query/record.h"

#include "query/schema.h"

#include <QHash>

#include <algorithm>

namespace Swamp::Query {

const QStringList &attributeIdNames()
{
    static const QStringList names = Schema::builtin().attributeNames(); // sorted, de-duplicated
    return names;
}

int attributeId(QStringView name)
{
    const QStringList &names = attributeIdNames();
    const auto it = std::lower_bound(names.cbegin(), names.cend(), name,
                                     [](const QString &a, QStringView b) { return QStringView(a) < b; });
    return it != names.cend() && *it == name ? int(it - names.cbegin()) : -1;
}

Scalar Record::scalar(int id) const
{
    Q_UNUSED(id);
    return {};
}

Scalar Record::scalarEntry(int id, const QString &key) const
{
    Q_UNUSED(id);
    Q_UNUSED(key);
    return {};
}

} // namespace Swamp::Query
