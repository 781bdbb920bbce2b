#include "eventmodel.h"

#include "common/ids.h"

#include <QLocale>
#include <QUuid>

namespace Swamp::Console {

namespace {
// Step, run and lease ids share their first digits (UUIDv7: the time); show the end the CLI
// shows, and the whole id as tooltip. Names stay as they are.
bool isId(const QString &subject)
{
    return !QUuid::fromString(subject).isNull();
}

QString shownSubject(const QString &subject)
{
    return isId(subject) ? shortId(subject) : subject;
}
} // namespace

EventModel::EventModel(int capacity, QObject *parent)
    : LiveTableModel(parent)
    , m_capacity(std::max(1, capacity))
{
}

int EventModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_events.size());
}

int EventModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant EventModel::liveData(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const Event &event = m_events.at(index.row());
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case Time: return QLocale().toString(event.at.toLocalTime(), QStringLiteral("yyyy-MM-dd HH:mm:ss"));
        case Kind: return event.kind;
        case Subject: return shownSubject(event.subject);
        case Message: return event.message;
        }
        return {};
    case SortRole:
        return index.column() == Time ? QVariant(event.id) : data(index, Qt::DisplayRole);
    case KindRole: return event.kind;
    case FilterRole: return QStringList{event.kind, event.subject, event.message}.join(u'\n');
    case Qt::ToolTipRole:
        if (index.column() == Message)
            return event.message;
        if (index.column() == Subject && isId(event.subject))
            return event.subject;
        if (index.column() == Time)
            return QLocale().toString(event.at.toLocalTime(), QLocale::LongFormat);
        return {};
    }
    return {};
}

QVariant EventModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return LiveTableModel::headerData(section, orientation, role);
    switch (section) {
    case Time: return tr("Time");
    case Kind: return tr("Kind");
    case Subject: return tr("Subject");
    case Message: return tr("Message");
    }
    return {};
}

void EventModel::append(const Event &event)
{
    if (m_events.size() >= m_capacity) {
        const int drop = int(m_events.size()) - m_capacity + 1;
        beginRemoveRows({}, 0, drop - 1);
        m_events.remove(0, drop);
        endRemoveRows();
    }
    const int row = int(m_events.size());
    beginInsertRows({}, row, row);
    m_events.append(event);
    endInsertRows();
    if (!event.kind.isEmpty() && !m_kinds.contains(event.kind)) {
        m_kinds.append(event.kind);
        Q_EMIT kindAdded(event.kind);
    }
}

} // namespace Swamp::Console
