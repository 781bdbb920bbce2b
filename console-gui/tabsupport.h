#pragma once

#include <QHash>
#include <QList>
#include <QString>

#include <utility>

class QAbstractItemModel;
class QAction;
class QModelIndex;
class QFormLayout;
class QLabel;
class QTableView;
class QToolButton;
class QWidget;

namespace Swamp::Console {

class AdminSession;

// A live table as every tab shows it: sorted by `sortColumn`, one whole row selected at a time,
// alternating rows, no row numbers, movable columns.
void setUpLiveTable(QTableView *view, QAbstractItemModel *model, int sortColumn, Qt::SortOrder order);

// Widens `columns` (names) to show their text as rows arrive, up to `maximum` pixels, until the
// user sizes them (ColumnFitter); cells that still do not fit are elided, the text as tooltip.
void growColumnsToFit(QTableView *view, const QList<int> &columns, int maximum = 280);

// A button for `action` in a tab's top row: its icon with its text beside it.
QToolButton *createActionButton(QAction *action, QWidget *parent);

// The rows of a details pane: one selectable, wrapping label per (field key, title), added to
// `form` and returned by key so the tab can fill them.
QHash<QString, QLabel *> addDetailRows(QFormLayout *form, QWidget *parent,
                                       const QList<std::pair<QString, QString>> &fields);

// The pane's heading: bold, a little larger, wrapping.
void styleDetailsTitle(QLabel *title);

// Selects the row of `index` (an index of the view's model) and scrolls it into view.
void selectAndReveal(QTableView *view, const QModelIndex &index);

// True while the session is connected: actions that ask the orchestrator are off otherwise.
bool isOnline(const AdminSession *session);

// The text a details row shows (empty for an unknown key).
QString detailText(const QHash<QString, QLabel *> &labels, const QString &key);

} // namespace Swamp::Console
