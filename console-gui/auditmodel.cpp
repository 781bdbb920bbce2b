#include "auditmodel.h"

#include "common/duration.h"

#include <QLocale>
#include <QSet>

namespace Swamp::Console {

AuditModel::AuditModel(QObject *parent)
    : QAbstractTableModel(parent)
{
}

int AuditModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_entries.size());
}

int AuditModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QString AuditModel::text(const Entry &entry, int column) const
{
    const QJsonObject &a = entry.attributes;
    const auto field = [&a](const char16_t *key) { return a.value(QString::fromUtf16(key)).toString(); };
    switch (column) {
    case Time: return QLocale().toString(entry.at.toLocalTime(), QLocale::ShortFormat);
    case Action: return field(u"action");
    case Subject: {
        // The worker for worker actions (with its token), else the token.
        const QString worker = field(u"workerName");
        const QString token = field(u"tokenName");
        if (worker.isEmpty())
            return token.isEmpty() ? QString() : tr("token %1").arg(token);
        return token.isEmpty() ? tr("worker %1").arg(worker) : tr("worker %1 (token %2)").arg(worker, token);
    }
    case Client:
        return a.value(QStringLiteral("client")).toObject().value(QStringLiteral("name")).toString();
    case Address: return field(u"address");
    case Reason: return field(u"reason");
    }
    return {};
}

QVariant AuditModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const Entry &entry = m_entries.at(index.row());
    switch (role) {
    case Qt::DisplayRole: return text(entry, index.column());
    case SortRole:
        return index.column() == Time ? QVariant(entry.at.toMSecsSinceEpoch()) : QVariant(text(entry, index.column()));
    case ActionRole: return entry.attributes.value(QStringLiteral("action")).toString();
    case FilterRole: {
        QStringList parts;
        for (int column = 0; column < ColumnCount; ++column)
            parts << text(entry, column);
        return parts.join(u'\n');
    }
    case Qt::ToolTipRole:
        if (index.column() == Time)
            return isoUtc(entry.at);
        if (index.column() == Client)
            return tr("admin key %1").arg(entry.attributes.value(QStringLiteral("client")).toObject()
                                              .value(QStringLiteral("adminKey")).toString());
        return text(entry, index.column());
    }
    return {};
}

QVariant AuditModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case Time: return tr("Time");
    case Action: return tr("Action");
    case Subject: return tr("About");
    case Client: return tr("Client");
    case Address: return tr("Address");
    case Reason: return tr("Reason");
    }
    return {};
}

void AuditModel::setEntries(const QJsonArray &records)
{
    QSet<QString> present;
    QList<Entry> added;
    for (const QJsonValue &value : records) {
        const QJsonObject record = value.toObject();
        const QString id = record.value(QStringLiteral("id")).toVariant().toString();
        present.insert(id);
        if (m_rows.contains(id))
            continue;
        const QJsonObject attributes = record.value(QStringLiteral("attributes")).toObject();
        QDateTime at = parseIsoUtc(attributes.value(QStringLiteral("at")).toString());
        if (!at.isValid())
            at = parseIsoUtc(record.value(QStringLiteral("createdAt")).toString());
        added.append({id, at, attributes});
    }
    for (int row = int(m_entries.size()) - 1; row >= 0; --row) {
        if (present.contains(m_entries.at(row).id))
            continue;
        beginRemoveRows({}, row, row);
        m_entries.removeAt(row);
        endRemoveRows();
    }
    m_rows.clear();
    for (int row = 0; row < m_entries.size(); ++row)
        m_rows.insert(m_entries.at(row).id, row);
    if (added.isEmpty())
        return;
    const int first = int(m_entries.size());
    beginInsertRows({}, first, first + int(added.size()) - 1);
    for (const Entry &entry : std::as_const(added)) {
        m_rows.insert(entry.id, int(m_entries.size()));
        m_entries.append(entry);
    }
    endInsertRows();
}

} // namespace Swamp::Console
