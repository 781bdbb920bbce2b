#pragma once

#include <QAbstractTableModel>
#include <QDateTime>
#include <QHash>
#include <QJsonArray>
#include <QJsonObject>
#include <QList>

namespace Swamp::Console {

// The audit trail (the `swamp/audit-event` records of data.query) as a live table: a list plus
// an id→row hash. Entries never change once written, so setEntries() only inserts the new ones
// and removes the ones no longer listed (begin/end, never a reset).
class AuditModel final : public QAbstractTableModel
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(AuditModel)

public:
    enum Column { Time, Action, Subject, Client, Address, Reason, ColumnCount };
    enum Role {
        SortRole = Qt::UserRole + 1, // msecs for the time, else the text
        ActionRole,                  // "token.create", ... untranslated
        FilterRole,                  // everything a filter box may match, in one string
    };

    explicit AuditModel(QObject *parent = nullptr);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

    // The complete current list of data.query records.
    void setEntries(const QJsonArray &records);
    // The attributes of the entry in `row`: {action, at, tokenName, workerName, client, address, reason}.
    QJsonObject entryAt(int row) const { return m_entries.at(row).attributes; }

private:
    struct Entry
    {
        QString id;
        QDateTime at;
        QJsonObject attributes;
    };
    QString text(const Entry &entry, int column) const;

    QList<Entry> m_entries;
    QHash<QString, int> m_rows;
};

} // namespace Swamp::Console
