#include "tabsupport.h"

#include "client/adminsession.h"
#include "columnfitter.h"
#include "elidingdelegate.h"

#include <QFormLayout>
#include <QHeaderView>
#include <QLabel>
#include <QTableView>
#include <QToolButton>

namespace Swamp::Console {

void setUpLiveTable(QTableView *view, QAbstractItemModel *model, int sortColumn, Qt::SortOrder order)
{
    view->setModel(model);
    view->setSortingEnabled(true);
    view->sortByColumn(sortColumn, order);
    view->setSelectionBehavior(QAbstractItemView::SelectRows);
    view->setSelectionMode(QAbstractItemView::SingleSelection);
    view->setAlternatingRowColors(true);
    view->setWordWrap(false);
    view->verticalHeader()->setVisible(false);
    view->horizontalHeader()->setSectionsMovable(true);
    view->setItemDelegate(new ElidingDelegate(view));
}

void growColumnsToFit(QTableView *view, const QList<int> &columns, int maximum)
{
    new ColumnFitter(view, columns, maximum);
}

QToolButton *createActionButton(QAction *action, QWidget *parent)
{
    auto *button = new QToolButton(parent);
    button->setDefaultAction(action);
    button->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    return button;
}

QHash<QString, QLabel *> addDetailRows(QFormLayout *form, QWidget *parent,
                                       const QList<std::pair<QString, QString>> &fields)
{
    QHash<QString, QLabel *> labels;
    for (const auto &[key, title] : fields) {
        auto *value = new QLabel(parent);
        value->setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::TextSelectableByKeyboard);
        value->setWordWrap(true);
        value->setMinimumWidth(80);
        labels.insert(key, value);
        form->addRow(title, value);
    }
    return labels;
}

void styleDetailsTitle(QLabel *title)
{
    QFont font = title->font();
    font.setBold(true);
    font.setPointSizeF(font.pointSizeF() * 1.2);
    title->setFont(font);
    title->setWordWrap(true);
}

void selectAndReveal(QTableView *view, const QModelIndex &index)
{
    if (!index.isValid())
        return;
    view->selectionModel()->select(index, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
    view->scrollTo(index);
}

bool isOnline(const AdminSession *session)
{
    return session->state() == AdminSession::State::Connected;
}

QString detailText(const QHash<QString, QLabel *> &labels, const QString &key)
{
    QLabel *label = labels.value(key);
    return label ? label->text() : QString();
}

} // namespace Swamp::Console
