#include "stepstab.h"

#include "tabsupport.h"

#include "emptystate.h"

#include "client/adminsession.h"
#include "common/ids.h"
#include "statuspalette.h"
#include "stepfeed.h"
#include "stepmodel.h"
#include "stepoutputview.h"

#include "common/duration.h"
#include "model/step.h"

#include <QAction>
#include <QCheckBox>
#include <QClipboard>
#include <QFormLayout>
#include <QGroupBox>
#include <QGuiApplication>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QMessageBox>
#include <QPushButton>
#include <QScrollArea>
#include <QSettings>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QStyle>
#include <QTableView>
#include <QToolButton>
#include <QTreeWidget>
#include <QVBoxLayout>

namespace Swamp::Console {

namespace {
QString localTime(const QJsonValue &iso)
{
    const QDateTime when = parseIsoUtc(iso.toString());
    return when.isValid() ? QLocale().toString(when.toLocalTime(), QLocale::ShortFormat) : QString();
}

QString commandText(const QJsonObject &step)
{
    QStringList argv;
    const QJsonArray command = step.value(QStringLiteral("command")).toArray();
    for (const QJsonValue &value : command)
        argv << value.toString();
    return argv.join(u' ');
}
} // namespace

StepsTab::StepsTab(AdminSession *session, StepModel *model, StepFeed *feed, QWidget *parent)
    : QWidget(parent)
    , m_session(session)
    , m_model(model)
    , m_feed(feed)
    , m_proxy(new QSortFilterProxyModel(this))
    , m_filter(new QLineEdit(this))
    , m_summary(new QLabel(this))
    , m_view(new QTableView(this))
    , m_splitter(new QSplitter(Qt::Horizontal, this))
    , m_outputSplitter(new QSplitter(Qt::Vertical, this))
    , m_detailsSplitter(new QSplitter(Qt::Vertical, this))
    , m_detailsTitle(new QLabel(this))
    , m_leases(new QTreeWidget(this))
    , m_output(new StepOutputView(session, this))
    , m_cancel(new QAction(style()->standardIcon(QStyle::SP_DialogCancelButton), tr("C&ancel step…"), this))
    , m_copyId(new QAction(tr("Copy step &ID"), this))
{
    setUpActions();
    QToolButton *cancelButton = createActionButton(m_cancel, this);
    QToolButton *copyButton = createActionButton(m_copyId, this);
    setUpFilter();
    setUpTable();
    setUpDetails();
    setUpSplitters();
    setUpLayout(cancelButton, copyButton);
    connectModel();
    connect(m_session, &AdminSession::stateChanged, this, &StepsTab::updateActions);
    updateDetails();
    updateActions();
    updateSummary();
}

void StepsTab::setUpActions()
{
    m_cancel->setToolTip(tr("Stop the step: a queued step is dropped, a running one is killed on its worker"));
    m_copyId->setToolTip(tr("Copy the full step id, for 'swamp run logs' or 'swamp run status'"));
    m_copyId->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_C));
    connect(m_cancel, &QAction::triggered, this, &StepsTab::confirmCancel);
    connect(m_copyId, &QAction::triggered, this, &StepsTab::copyId);
}

void StepsTab::setUpFilter()
{
    m_proxy->setSourceModel(m_model);
    m_proxy->setSortRole(StepModel::SortRole);
    m_proxy->setFilterRole(StepModel::FilterRole);
    m_proxy->setFilterKeyColumn(0);
    m_proxy->setFilterCaseSensitivity(Qt::CaseInsensitive);
    m_proxy->setSortCaseSensitivity(Qt::CaseInsensitive);
    m_proxy->setDynamicSortFilter(true);
    m_filter->setPlaceholderText(tr("Filter by name, state, worker, id, error…"));
    m_filter->setClearButtonEnabled(true);
    connect(m_filter, &QLineEdit::textChanged, m_proxy, &QSortFilterProxyModel::setFilterFixedString);
}

void StepsTab::setUpTable()
{
    setUpLiveTable(m_view, m_proxy, StepModel::Queued, Qt::DescendingOrder);
    // Defaults that fit the table beside the details in a 1100 px window: the error takes what
    // the others leave, down to the header's minimum (a stretched last section would not shrink
    // below 100 px, and the table would scroll); a remembered layout wins.
    m_view->horizontalHeader()->setStretchLastSection(false);
    m_view->horizontalHeader()->setSectionResizeMode(StepModel::Error, QHeaderView::Stretch);
    m_view->setColumnWidth(StepModel::Name, 110);
    m_view->setColumnWidth(StepModel::Worker, 95);
    // The state and the sorted time are always whole, header too (the German "Eingereiht" and
    // its sort arrow were cut).
    for (int column : {StepModel::State, StepModel::Queued})
        m_view->horizontalHeader()->setSectionResizeMode(column, QHeaderView::ResizeToContents);
    m_view->setColumnWidth(StepModel::Attempt, 60);
    m_view->setColumnWidth(StepModel::ExitCode, 35);
    m_view->setColumnWidth(StepModel::Started, 70);
    m_view->setColumnWidth(StepModel::Finished, 70);
    m_view->setColumnWidth(StepModel::Id, 70);
    growColumnsToFit(m_view, {StepModel::Name, StepModel::Worker});
    new EmptyState(m_view, m_model, m_session, [] {
        return tr("No steps yet. Submit one with\n"
                  "swamp run -- echo hello\n"
                  "and follow it here as it runs.");
    }, tr("No steps match the filter."));
    m_view->addAction(m_copyId);
    m_view->addAction(m_cancel);
    m_view->setContextMenuPolicy(Qt::ActionsContextMenu);
    connect(m_view->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            &StepsTab::handleSelectionChanged);
}

// Details: the step's fields, then its leases (one per attempt).
void StepsTab::setUpDetails()
{
    auto *details = new QGroupBox(tr("Details"), this);
    auto *form = new QFormLayout;
    form->setRowWrapPolicy(QFormLayout::WrapLongRows);
    const QList<std::pair<QString, QString>> fields{
        {QStringLiteral("state"), tr("State:")},
        {QStringLiteral("id"), tr("Step ID:")},
        {QStringLiteral("runId"), tr("Run ID:")},
        {QStringLiteral("command"), tr("Command:")},
        {QStringLiteral("requirement"), tr("Runs on:")},
        {QStringLiteral("workerName"), tr("Worker:")},
        {QStringLiteral("attempt"), tr("Attempt:")},
        {QStringLiteral("exitCode"), tr("Exit code:")},
        {QStringLiteral("error"), tr("Error:")},
        {QStringLiteral("queuedAt"), tr("Queued at:")},
        {QStringLiteral("startedAt"), tr("Started at:")},
        {QStringLiteral("finishedAt"), tr("Finished at:")},
    };
    m_details = addDetailRows(form, details, fields);
    styleDetailsTitle(m_detailsTitle);
    setUpLeasesView();
    auto *detailsLayout = new QVBoxLayout(details);
    detailsLayout->addWidget(m_detailsTitle);
    detailsLayout->addLayout(form);
    detailsLayout->addStretch();
    auto *scroll = new QScrollArea(this);
    scroll->setWidget(details);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    scroll->setMinimumWidth(220);
    // The leases stay in view below the fields, however long the command is.
    auto *leasesBox = new QGroupBox(tr("Leases"), this);
    auto *leasesLayout = new QVBoxLayout(leasesBox);
    leasesLayout->addWidget(m_leases);
    m_detailsSplitter->addWidget(scroll);
    m_detailsSplitter->addWidget(leasesBox);
    m_detailsSplitter->setStretchFactor(0, 3);
    m_detailsSplitter->setStretchFactor(1, 1);
    m_detailsSplitter->setChildrenCollapsible(false);
}

void StepsTab::setUpLeasesView()
{
    m_leases->setHeaderLabels({tr("Attempt"), tr("Worker"), tr("Lease"), tr("Started"), tr("Ended")});
    m_leases->setRootIsDecorated(false);
    m_leases->setSelectionMode(QAbstractItemView::NoSelection);
    m_leases->setMinimumHeight(50);
    m_leases->setFrameShape(QFrame::NoFrame);
    m_leases->header()->setStretchLastSection(true);
    m_leases->setColumnWidth(0, 60);
    m_leases->setColumnWidth(1, 120);
    m_leases->setColumnWidth(2, 75);
}

void StepsTab::setUpSplitters()
{
    m_outputSplitter->addWidget(m_view);
    m_outputSplitter->addWidget(m_output);
    m_outputSplitter->setStretchFactor(0, 3);
    m_outputSplitter->setStretchFactor(1, 2);
    m_outputSplitter->setChildrenCollapsible(false);
    m_splitter->addWidget(m_outputSplitter);
    m_splitter->addWidget(m_detailsSplitter);
    m_splitter->setStretchFactor(0, 3);
    m_splitter->setStretchFactor(1, 1);
    m_splitter->setSizes({840, 260});
    m_splitter->setChildrenCollapsible(false);
}

void StepsTab::setUpLayout(QToolButton *cancelButton, QToolButton *copyButton)
{
    auto *top = new QHBoxLayout;
    top->addWidget(cancelButton);
    top->addWidget(copyButton);
    top->addSpacing(12);
    top->addWidget(m_filter, 1);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(top);
    layout->addWidget(m_splitter, 1);
    layout->addWidget(m_summary);
    setTabOrder(cancelButton, copyButton);
    setTabOrder(copyButton, m_filter);
    setTabOrder(m_filter, m_view);
    setTabOrder(m_view, m_output->followBox());
}

// The details and actions follow the selected step's row; the summary follows every row.
void StepsTab::connectModel()
{
    connect(m_model, &QAbstractItemModel::dataChanged, this,
            [this](const QModelIndex &topLeft, const QModelIndex &bottomRight) {
                if (topLeft.column() > StepModel::State && bottomRight.column() < StepModel::ColumnCount - 1)
                    return; // only the relative times ticked
                const int row = m_model->rowOf(m_selectedId);
                if (row >= topLeft.row() && row <= bottomRight.row()) {
                    updateDetails();
                    updateActions();
                }
                updateSummary();
            });
    connect(m_model, &QAbstractItemModel::rowsInserted, this, &StepsTab::updateSummary);
    connect(m_model, &QAbstractItemModel::rowsRemoved, this, [this] {
        updateSummary();
        if (!m_selectedId.isEmpty() && !m_model->step(m_selectedId)) {
            m_selectedId.clear();
            m_selectedLeases = {};
            m_output->setStep({});
            updateDetails();
            updateActions();
        }
    });
    connect(m_feed, &StepFeed::statusReceived, this, &StepsTab::handleStatus);
}

void StepsTab::handleSelectionChanged()
{
    const QModelIndexList rows = m_view->selectionModel()->selectedRows();
    const QString id = rows.isEmpty() ? QString() : rows.first().data(StepModel::IdRole).toString();
    if (id == m_selectedId)
        return;
    m_selectedId = id;
    m_selectedLeases = {};
    if (const QJsonObject *step = m_model->step(id))
        m_feed->fetch(id, step->value(QStringLiteral("runId")).toString());
    m_output->setStep(id);
    updateDetails();
    updateActions();
}

void StepsTab::handleStatus(const QJsonObject &status)
{
    if (m_selectedId.isEmpty())
        return;
    const QJsonArray steps = status.value(QStringLiteral("steps")).toArray();
    bool ours = false;
    for (const QJsonValue &step : steps)
        ours = ours || step.toObject().value(QStringLiteral("id")).toString() == m_selectedId;
    if (!ours)
        return;
    QJsonArray leases;
    const QJsonArray all = status.value(QStringLiteral("leases")).toArray();
    for (const QJsonValue &lease : all) {
        if (lease.toObject().value(QStringLiteral("stepId")).toString() == m_selectedId)
            leases << lease;
    }
    m_selectedLeases = leases;
    updateLeases();
}

void StepsTab::updateActions()
{
    const QJsonObject *step = m_model->step(m_selectedId);
    m_copyId->setEnabled(step != nullptr);
    m_cancel->setEnabled(step && isOnline(m_session)
                         && !isTerminalStateName(step->value(QStringLiteral("state")).toString()));
}

QMessageBox *StepsTab::confirmCancel()
{
    const QJsonObject *step = m_model->step(m_selectedId);
    if (!step || !m_cancel->isEnabled())
        return nullptr;
    const QString id = m_selectedId;
    const QString name = step->value(QStringLiteral("name")).toString();
    const QString worker = step->value(QStringLiteral("workerName")).toString();
    const QString text = step->value(QStringLiteral("state")).toString() == u"queued" || worker.isEmpty()
        ? tr("Cancel step '%1' (%2)? It is still queued and will not run.").arg(name, shortId(id))
        : tr("Cancel step '%1' (%2)? Its process on worker '%3' is killed.").arg(name, shortId(id), worker);
    auto *box = new QMessageBox(QMessageBox::Question, tr("Cancel step %1").arg(name), text,
                                QMessageBox::NoButton, this);
    QPushButton *cancelStep = box->addButton(tr("Cancel &step"), QMessageBox::AcceptRole);
    QPushButton *keep = box->addButton(tr("&Keep running"), QMessageBox::RejectRole);
    box->setDefaultButton(keep);
    box->setEscapeButton(keep);
    box->setAttribute(Qt::WA_DeleteOnClose);
    connect(box, &QMessageBox::buttonClicked, this, [this, cancelStep, id, name](QAbstractButton *button) {
        if (button == cancelStep)
            sendCancel(id, name);
    });
    box->open();
    return box;
}

void StepsTab::sendCancel(const QString &id, const QString &name)
{
    m_session->request(QStringLiteral("run.cancel"), {{QStringLiteral("id"), id}}, this,
                       [this, id, name](const Result<QJsonObject> &result) {
        if (!result) {
            Q_EMIT message(result.error().text());
            return;
        }
        Q_EMIT message(result->value(QStringLiteral("alreadyFinished")).toBool()
                           ? tr("Step '%1' had already finished.").arg(name)
                           : tr("Cancelling step '%1'.").arg(name));
        m_feed->fetch(id);
    });
}

void StepsTab::copyId()
{
    if (m_selectedId.isEmpty())
        return;
    QGuiApplication::clipboard()->setText(m_selectedId);
    Q_EMIT message(tr("Copied step id %1.").arg(m_selectedId));
}

void StepsTab::selectStep(const QString &id)
{
    const int row = m_model->rowOf(id);
    if (row < 0)
        return;
    selectAndReveal(m_view, m_proxy->mapFromSource(m_model->index(row, 0)));
}

QString StepsTab::detail(const QString &field) const
{
    return detailText(m_details, field);
}

void StepsTab::updateDetails()
{
    const QJsonObject *step = m_model->step(m_selectedId);
    if (!step) {
        m_detailsTitle->setText(tr("No step selected"));
        for (QLabel *label : std::as_const(m_details))
            label->clear();
        updateLeases();
        return;
    }
    const QString name = step->value(QStringLiteral("name")).toString();
    m_detailsTitle->setText(name.isEmpty() ? shortId(m_selectedId) : name);
    const auto set = [this](const char16_t *key, const QString &text) {
        m_details.value(QString::fromUtf16(key))->setText(text.isEmpty() ? QStringLiteral("-") : text);
    };
    const auto value = [step](const char16_t *key) { return step->value(QString::fromUtf16(key)); };
    set(u"state", StatusPalette::stepStateText(value(u"state").toString()));
    set(u"id", m_selectedId);
    set(u"runId", value(u"runId").toString());
    set(u"command", commandText(*step));
    set(u"requirement", value(u"requirement").toString());
    set(u"workerName", value(u"workerName").toString());
    const int attempt = value(u"attempt").toInt();
    const int maxAttempts = value(u"maxAttempts").toInt();
    set(u"attempt", attempt <= 0 ? QString() : maxAttempts > 0 ? tr("%1 of %2").arg(attempt).arg(maxAttempts)
                                                               : QString::number(attempt));
    set(u"exitCode", value(u"exitCode").isDouble() ? QString::number(value(u"exitCode").toInt()) : QString());
    set(u"error", value(u"error").toString());
    set(u"queuedAt", localTime(value(u"queuedAt")));
    set(u"startedAt", localTime(value(u"startedAt")));
    set(u"finishedAt", localTime(value(u"finishedAt")));
    m_details.value(QStringLiteral("state"))
        ->setStyleSheet(QStringLiteral("color: %1").arg(
            StatusPalette::stepStateColor(value(u"state").toString(), palette()).name()));
}

void StepsTab::updateLeases()
{
    m_leases->clear();
    for (const QJsonValue &value : std::as_const(m_selectedLeases)) {
        const QJsonObject lease = value.toObject();
        QString state = StatusPalette::leaseStateText(lease.value(QStringLiteral("state")).toString());
        const QJsonValue exitCode = lease.value(QStringLiteral("exitCode"));
        if (exitCode.isDouble())
            state = tr("%1 (exit %2)").arg(state).arg(exitCode.toInt());
        auto *item = new QTreeWidgetItem(m_leases, {QString::number(lease.value(QStringLiteral("attempt")).toInt()),
                                                    lease.value(QStringLiteral("workerName")).toString(), state,
                                                    localTime(lease.value(QStringLiteral("startedAt"))),
                                                    localTime(lease.value(QStringLiteral("endedAt")))});
        const QString error = lease.value(QStringLiteral("error")).toString();
        if (!error.isEmpty())
            item->setToolTip(2, error);
        item->setToolTip(0, lease.value(QStringLiteral("id")).toString());
    }
}

void StepsTab::updateSummary()
{
    int queued = 0;
    int running = 0;
    const int total = m_model->rowCount();
    for (int row = 0; row < total; ++row) {
        const QString state = m_model->stepAt(row).value(QStringLiteral("state")).toString();
        if (state == u"queued")
            ++queued;
        else if (state == u"dispatched" || state == u"running")
            ++running;
    }
    m_summary->setText(m_model->withStaleNote(
        tr("%n step(s): %1 queued, %2 running, %3 finished (the most recent %4 are kept)", nullptr, total)
            .arg(queued)
            .arg(running)
            .arg(total - queued - running)
            .arg(m_model->maxFinished())));
}

void StepsTab::saveState(QSettings &settings) const
{
    settings.setValue(QStringLiteral("steps/header"), m_view->horizontalHeader()->saveState());
    settings.setValue(QStringLiteral("steps/splitter"), m_splitter->saveState());
    settings.setValue(QStringLiteral("steps/outputSplitter"), m_outputSplitter->saveState());
    settings.setValue(QStringLiteral("steps/detailsSplitter"), m_detailsSplitter->saveState());
}

void StepsTab::restoreState(const QSettings &settings)
{
    m_view->horizontalHeader()->restoreState(settings.value(QStringLiteral("steps/header")).toByteArray());
    m_splitter->restoreState(settings.value(QStringLiteral("steps/splitter")).toByteArray());
    m_outputSplitter->restoreState(settings.value(QStringLiteral("steps/outputSplitter")).toByteArray());
    m_detailsSplitter->restoreState(settings.value(QStringLiteral("steps/detailsSplitter")).toByteArray());
}

} // namespace Swamp::Console
