#include "eventstab.h"

#include "eventmodel.h"
#include "elidingdelegate.h"
#include "emptystate.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QRegularExpression>
#include <QSettings>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QVBoxLayout>

namespace Swamp::Console {

EventsTab::EventsTab(EventModel *model, QWidget *parent)
    : QWidget(parent)
    , m_model(model)
    , m_kindProxy(new QSortFilterProxyModel(this))
    , m_proxy(new QSortFilterProxyModel(this))
    , m_filter(new QLineEdit(this))
    , m_kind(new QComboBox(this))
    , m_view(new QTableView(this))
    , m_summary(new QLabel(this))
{
    m_kindProxy->setSourceModel(m_model);
    m_kindProxy->setFilterRole(EventModel::KindRole);
    m_proxy->setSourceModel(m_kindProxy);
    m_proxy->setFilterRole(EventModel::FilterRole);
    m_proxy->setSortRole(EventModel::SortRole);
    m_proxy->setFilterCaseSensitivity(Qt::CaseInsensitive);

    m_filter->setPlaceholderText(tr("Filter events by worker, token, message…"));
    m_filter->setClearButtonEnabled(true);
    m_kind->addItem(tr("All kinds"), QString());
    m_kind->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    for (const QString &kind : m_model->kinds())
        m_kind->addItem(kind, kind);
    connect(m_model, &EventModel::kindAdded, this, [this](const QString &kind) { m_kind->addItem(kind, kind); });
    connect(m_filter, &QLineEdit::textChanged, m_proxy, &QSortFilterProxyModel::setFilterFixedString);
    connect(m_kind, &QComboBox::currentIndexChanged, this, [this] {
        const QString kind = m_kind->currentData().toString();
        m_kindProxy->setFilterRegularExpression(
            kind.isEmpty() ? QString() : u'^' + QRegularExpression::escape(kind) + u'$');
        updateSummary();
    });
    connect(m_filter, &QLineEdit::textChanged, this, &EventsTab::updateSummary);

    m_view->setModel(m_proxy);
    m_view->setSortingEnabled(true);
    m_view->sortByColumn(EventModel::Time, Qt::DescendingOrder);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setAlternatingRowColors(true);
    m_view->setWordWrap(false);
    m_view->verticalHeader()->setVisible(false);
    m_view->horizontalHeader()->setStretchLastSection(true);
    m_view->horizontalHeader()->setSectionsMovable(true);
    m_view->setColumnWidth(EventModel::Time, 150);
    m_view->setColumnWidth(EventModel::Kind, 150);
    m_view->setColumnWidth(EventModel::Subject, 140);
    m_view->setItemDelegate(new ElidingDelegate(m_view));
    new EmptyState(m_view, m_model, nullptr, [] {
        return tr("No events yet. Workers enrolling and leaving, steps finishing and tokens "
                  "changing are logged here as they happen.");
    }, tr("No events match the filter or the kind."));

    connect(m_model, &QAbstractItemModel::rowsInserted, this, &EventsTab::updateSummary);
    connect(m_model, &QAbstractItemModel::rowsRemoved, this, &EventsTab::updateSummary);

    auto *top = new QHBoxLayout;
    top->addWidget(m_filter, 1);
    top->addWidget(m_kind);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(top);
    layout->addWidget(m_view, 1);
    layout->addWidget(m_summary);
    setTabOrder(m_filter, m_kind);
    setTabOrder(m_kind, m_view);
    updateSummary();
}

void EventsTab::updateSummary()
{
    if (m_proxy->rowCount() == m_model->rowCount())
        m_summary->setText(tr("%n event(s)", nullptr, m_model->rowCount()));
    else
        m_summary->setText(tr("%1 of %n event(s)", nullptr, m_model->rowCount()).arg(m_proxy->rowCount()));
}

void EventsTab::saveState(QSettings &settings) const
{
    settings.setValue(QStringLiteral("events/header"), m_view->horizontalHeader()->saveState());
}

void EventsTab::restoreState(const QSettings &settings)
{
    m_view->horizontalHeader()->restoreState(settings.value(QStringLiteral("events/header")).toByteArray());
}

} // namespace Swamp::Console
