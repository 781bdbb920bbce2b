#include "workerstab.h"

#include "tabsupport.h"

#include "client/adminsession.h"
#include "drainworkerdialog.h"
#include "statuspalette.h"
#include "workeractions.h"
#include "workermodel.h"

#include "common/duration.h"

#include <QAction>
#include <QCheckBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QMenu>
#include <QPushButton>
#include <QStyle>
#include <QToolButton>
#include <QScrollArea>
#include <QSettings>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QTableView>
#include <QVBoxLayout>

namespace Swamp::Console {

namespace {
QString localTime(const QDateTime &when)
{
    return when.isValid() ? QLocale().toString(when.toLocalTime(), QLocale::ShortFormat)
                          : QStringLiteral("-");
}
} // namespace

WorkersTab::WorkersTab(AdminSession *session, WorkerModel *model, QWidget *parent)
    : QWidget(parent)
    , m_session(session)
    , m_model(model)
    , m_statusProxy(new QSortFilterProxyModel(this))
    , m_proxy(new QSortFilterProxyModel(this))
    , m_filter(new QLineEdit(this))
    , m_showGone(new QCheckBox(tr("Show d&isconnected"), this))
    , m_summary(new QLabel(this))
    , m_view(new QTableView(this))
    , m_splitter(new QSplitter(Qt::Horizontal, this))
    , m_detailsTitle(new QLabel(this))
    , m_actions(new WorkerActions(session, model, this))
{
    connect(m_actions, &WorkerActions::message, this, &WorkersTab::message);
    const QList<QToolButton *> buttons{
        createActionButton(m_actions->pauseAction(), this), createActionButton(m_actions->resumeAction(), this),
        createActionButton(m_actions->drainAction(), this), createActionButton(m_actions->undrainAction(), this)};
    setUpFilters();
    setUpTable();
    QScrollArea *details = createDetailsPane();
    setUpSplitter(details);
    setUpLayout(buttons);
    connectModel();
    updateDetails();
    updateSummary();
}

QAction *WorkersTab::drainAction() const
{
    return m_actions->drainAction();
}

QAction *WorkersTab::undrainAction() const
{
    return m_actions->undrainAction();
}

// The text filter over the status filter: "Show disconnected" off hides the gone workers.
void WorkersTab::setUpFilters()
{
    m_statusProxy->setSourceModel(m_model);
    m_statusProxy->setFilterRole(WorkerModel::RawStatusRole);
    m_proxy->setSourceModel(m_statusProxy);
    m_proxy->setSortRole(WorkerModel::SortRole);
    m_proxy->setFilterRole(WorkerModel::FilterRole);
    m_proxy->setFilterKeyColumn(0);
    m_proxy->setFilterCaseSensitivity(Qt::CaseInsensitive);
    m_proxy->setSortCaseSensitivity(Qt::CaseInsensitive);

    m_filter->setPlaceholderText(tr("Filter by name, status, label, platform, token…"));
    m_filter->setClearButtonEnabled(true);
    m_showGone->setChecked(true);
    m_showGone->setToolTip(tr("Also list workers that are disconnected or lost"));
    connect(m_filter, &QLineEdit::textChanged, m_proxy, &QSortFilterProxyModel::setFilterFixedString);
    connect(m_showGone, &QCheckBox::toggled, this, [this](bool show) {
        m_statusProxy->setFilterRegularExpression(show ? QString() : QStringLiteral("^(idle|busy|draining)$"));
        updateSummary();
    });
}

void WorkersTab::setUpTable()
{
    setUpLiveTable(m_view, m_proxy, WorkerModel::Name, Qt::AscendingOrder);
    // Defaults that fit the table beside the details pane in a 1100 px window: the labels, the
    // one column of open-ended length, take what the others leave (a remembered layout wins).
    m_view->horizontalHeader()->setStretchLastSection(false);
    m_view->horizontalHeader()->setSectionResizeMode(WorkerModel::Labels, QHeaderView::Stretch);
    m_view->setColumnWidth(WorkerModel::Name, 150);
    m_view->setColumnWidth(WorkerModel::Status, 110);
    m_view->setColumnWidth(WorkerModel::Slots, 45);
    m_view->setColumnWidth(WorkerModel::Platform, 95);
    m_view->setColumnWidth(WorkerModel::Version, 60);
    m_view->setColumnWidth(WorkerModel::LastSeen, 110);
    m_view->setColumnWidth(WorkerModel::Token, 90);
    m_view->setColumnWidth(WorkerModel::Orchestrator, 130);
    m_view->setColumnHidden(WorkerModel::Orchestrator, true);
    connect(m_view->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            &WorkersTab::handleSelectionChanged);
    m_view->setContextMenuPolicy(Qt::CustomContextMenu);
    connect(m_view, &QWidget::customContextMenuRequested, this, &WorkersTab::showContextMenu);
}

QMenu *WorkersTab::createContextMenu()
{
    auto *menu = new QMenu(this);
    menu->setAttribute(Qt::WA_DeleteOnClose);
    m_actions->addTo(menu);
    return menu;
}

// A right click selects the row under the pointer first, as file managers do.
void WorkersTab::showContextMenu(const QPoint &position)
{
    const QModelIndex index = m_view->indexAt(position);
    if (!index.isValid())
        return;
    selectAndReveal(m_view, index);
    createContextMenu()->popup(m_view->viewport()->mapToGlobal(position));
}

QScrollArea *WorkersTab::createDetailsPane()
{
    auto *details = new QGroupBox(tr("Details"), this);
    auto *form = new QFormLayout;
    form->setRowWrapPolicy(QFormLayout::WrapAllRows);
    const QList<std::pair<QString, QString>> fields{
        {QStringLiteral("status"), tr("Status:")},
        {QStringLiteral("machineId"), tr("Machine ID:")},
        {QStringLiteral("instanceId"), tr("Instance:")},
        {QStringLiteral("hostname"), tr("Hostname:")},
        {QStringLiteral("platform"), tr("Platform:")},
        {QStringLiteral("tokenName"), tr("Token:")},
        {QStringLiteral("labels"), tr("Labels:")},
        {QStringLiteral("enrolledAt"), tr("Enrolled at:")},
        {QStringLiteral("lastSeenAt"), tr("Last seen at:")},
        {QStringLiteral("disconnectedAt"), tr("Disconnected at:")},
    };
    m_details = addDetailRows(form, details, fields);
    styleDetailsTitle(m_detailsTitle);
    auto *detailsLayout = new QVBoxLayout(details);
    detailsLayout->addWidget(m_detailsTitle);
    detailsLayout->addLayout(form);
    detailsLayout->addStretch();
    auto *scroll = new QScrollArea(this);
    scroll->setWidget(details);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    scroll->setMinimumWidth(200);
    return scroll;
}

void WorkersTab::setUpSplitter(QScrollArea *details)
{
    m_splitter->addWidget(m_view);
    m_splitter->addWidget(details);
    m_splitter->setStretchFactor(0, 4);
    m_splitter->setStretchFactor(1, 1);
    m_splitter->setSizes({800, 300});
    m_splitter->setChildrenCollapsible(false);
}

void WorkersTab::setUpLayout(const QList<QToolButton *> &buttons)
{
    auto *top = new QHBoxLayout;
    for (QToolButton *button : buttons)
        top->addWidget(button);
    top->addSpacing(12);
    top->addWidget(m_filter, 1);
    top->addWidget(m_showGone);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(top);
    layout->addWidget(m_splitter, 1);
    layout->addWidget(m_summary);
    for (qsizetype i = 1; i < buttons.size(); ++i)
        setTabOrder(buttons.at(i - 1), buttons.at(i));
    setTabOrder(buttons.last(), m_filter);
    setTabOrder(m_filter, m_showGone);
    setTabOrder(m_showGone, m_view);
}

// The details and actions follow the selected worker's row; the summary counts statuses.
void WorkersTab::connectModel()
{
    connect(m_model, &QAbstractItemModel::dataChanged, this,
            [this](const QModelIndex &topLeft, const QModelIndex &bottomRight) {
                const int row = m_model->rowOf(m_selectedId);
                if (row >= topLeft.row() && row <= bottomRight.row()) {
                    updateDetails();
                    m_actions->update();
                }
                if (topLeft.column() <= WorkerModel::Status && bottomRight.column() >= WorkerModel::Status)
                    updateSummary();
            });
    connect(m_model, &QAbstractItemModel::rowsInserted, this, &WorkersTab::updateSummary);
    connect(m_model, &QAbstractItemModel::rowsRemoved, this, [this] {
        updateSummary();
        if (!m_model->worker(m_selectedId)) {
            m_selectedId.clear();
            updateDetails();
            m_actions->setWorkerId(m_selectedId);
        }
    });
}

void WorkersTab::handleSelectionChanged()
{
    const QModelIndexList rows = m_view->selectionModel()->selectedRows();
    m_selectedId = rows.isEmpty() ? QString() : rows.first().data(WorkerModel::IdRole).toString();
    updateDetails();
    m_actions->setWorkerId(m_selectedId);
}

DrainWorkerDialog *WorkersTab::confirmDrain()
{
    return m_actions->openDrainDialog();
}

void WorkersTab::selectWorker(const QString &id)
{
    const int row = m_model->rowOf(id);
    if (row < 0)
        return;
    selectAndReveal(m_view, m_proxy->mapFromSource(m_statusProxy->mapFromSource(m_model->index(row, 0))));
}

QString WorkersTab::detail(const QString &field) const
{
    return detailText(m_details, field);
}

void WorkersTab::updateDetails()
{
    const WorkerRecord *worker = m_model->worker(m_selectedId);
    if (!worker) {
        m_detailsTitle->setText(tr("No worker selected"));
        for (QLabel *label : std::as_const(m_details))
            label->clear();
        return;
    }
    m_detailsTitle->setText(worker->name);
    const auto set = [this](const char16_t *key, const QString &text) {
        m_details.value(QString::fromUtf16(key))->setText(text.isEmpty() ? QStringLiteral("-") : text);
    };
    set(u"status", workerStatusText(*worker));
    set(u"machineId", worker->machineId);
    set(u"instanceId", worker->instanceId);
    set(u"hostname", worker->hostname);
    set(u"platform", worker->arch.isEmpty() ? worker->platform : worker->platform + u'/' + worker->arch);
    set(u"tokenName", worker->tokenName);
    set(u"labels", formatLabels(worker->labels));
    set(u"enrolledAt", localTime(worker->enrolledAt));
    set(u"lastSeenAt", isConnectedStatus(worker->status) ? tr("now (connected)") : localTime(worker->lastSeenAt));
    set(u"disconnectedAt", isConnectedStatus(worker->status) ? QString() : localTime(worker->disconnectedAt));
}

void WorkersTab::updateSummary()
{
    int connected = 0;
    const int total = m_model->rowCount();
    for (int row = 0; row < total; ++row) {
        if (isConnectedStatus(m_model->workerAt(row).status))
            ++connected;
    }
    m_summary->setText(tr("%n worker(s), %1 connected", nullptr, total).arg(connected));
}

void WorkersTab::setFleet(bool fleet)
{
    m_fleet = fleet;
    m_view->setColumnHidden(WorkerModel::Orchestrator, !fleet);
}

void WorkersTab::saveState(QSettings &settings) const
{
    settings.setValue(QStringLiteral("workers/header"), m_view->horizontalHeader()->saveState());
    settings.setValue(QStringLiteral("workers/splitter"), m_splitter->saveState());
    settings.setValue(QStringLiteral("workers/showDisconnected"), m_showGone->isChecked());
}

void WorkersTab::restoreState(const QSettings &settings)
{
    m_view->horizontalHeader()->restoreState(settings.value(QStringLiteral("workers/header")).toByteArray());
    setFleet(m_fleet); // a layout saved in a fleet does not show the column elsewhere
    m_splitter->restoreState(settings.value(QStringLiteral("workers/splitter")).toByteArray());
    m_showGone->setChecked(settings.value(QStringLiteral("workers/showDisconnected"), true).toBool());
}

} // namespace Swamp::Console
