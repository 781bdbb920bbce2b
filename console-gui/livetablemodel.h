#pragma once

#include <QAbstractTableModel>
#include <QDateTime>

namespace Swamp::Console {

// A live table that can go stale. While the console has lost the orchestrator (setStaleSince()
// with the time it was lost), every cell shows what was last known, greyed out through the
// foreground role (so every view and delegate agrees, and the state colours do not claim to be
// current), with a tooltip that says since when; StaleRole is true. setStaleSince({}) makes it
// live again. Subclasses implement liveData() instead of data().
class LiveTableModel : public QAbstractTableModel
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(LiveTableModel)

public:
    // bool: the row shows what was last known, not the orchestrator's current state. Above the
    // subclasses' own roles (Qt::UserRole + 1...).
    static constexpr int StaleRole = Qt::UserRole + 64;

    explicit LiveTableModel(QObject *parent = nullptr);

    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const final;

    // An invalid `since` is live; otherwise the time the orchestrator was lost.
    void setStaleSince(const QDateTime &since);
    QDateTime staleSince() const { return m_staleSince; }
    bool isStale() const { return m_staleSince.isValid(); }

    // "HH:mm:ss" of a time, in local time: how the console says when something was last known.
    static QString clockTime(const QDateTime &when);
    // A tab's summary ("5 workers, 4 connected"), marked as last known while stale.
    QString withStaleNote(const QString &summary) const;

protected:
    virtual QVariant liveData(const QModelIndex &index, int role) const = 0;

private:
    QDateTime m_staleSince;
};

} // namespace Swamp::Console
