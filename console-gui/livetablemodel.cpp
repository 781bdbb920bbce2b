#include "livetablemodel.h"

#include <QApplication>
#include <QGuiApplication>
#include <QIcon>
#include <QLocale>
#include <QPalette>
#include <QStyle>

namespace Swamp::Console {

namespace {
// A state's icon in the style's disabled look, so that its colour does not claim to be current.
QVariant disabledIcon(const QVariant &live)
{
    if (live.userType() != QMetaType::QIcon)
        return live;
    const QIcon icon = live.value<QIcon>();
    const int size = QApplication::style()->pixelMetric(QStyle::PM_SmallIconSize);
    QIcon disabled;
    disabled.addPixmap(icon.pixmap(QSize(size, size), QIcon::Disabled));
    return disabled;
}
} // namespace

LiveTableModel::LiveTableModel(QObject *parent) : QAbstractTableModel(parent) {}

QString LiveTableModel::clockTime(const QDateTime &when)
{
    return QLocale().toString(when.toLocalTime().time(), QStringLiteral("HH:mm:ss"));
}

QVariant LiveTableModel::data(const QModelIndex &index, int role) const
{
    if (role == StaleRole)
        return isStale();
    const QVariant live = liveData(index, role);
    if (!isStale())
        return live;
    switch (role) {
    case Qt::ForegroundRole:
        return QGuiApplication::palette().color(QPalette::Disabled, QPalette::Text);
    case Qt::DecorationRole:
        return disabledIcon(live);
    case Qt::ToolTipRole: {
        const QString note = tr("Last known at %1: the console has lost the orchestrator.")
                                 .arg(clockTime(m_staleSince));
        const QString text = live.toString();
        return text.isEmpty() ? note : text + u'\n' + note;
    }
    default:
        return live;
    }
}

QString LiveTableModel::withStaleNote(const QString &summary) const
{
    return isStale() ? tr("%1 — last known at %2").arg(summary, clockTime(m_staleSince)) : summary;
}

void LiveTableModel::setStaleSince(const QDateTime &since)
{
    if (since == m_staleSince)
        return;
    m_staleSince = since;
    // Every cell's colour changes, and the cells that said "now" no longer do.
    if (rowCount() > 0 && columnCount() > 0)
        Q_EMIT dataChanged(index(0, 0), index(rowCount() - 1, columnCount() - 1));
}

} // namespace Swamp::Console
