#include "audittab.h"

#include "auditmodel.h"
#include "client/adminsession.h"
#include "tabsupport.h"

#include "model/event.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QJsonArray>
#include <QLabel>
#include <QLineEdit>
#include <QRegularExpression>
#include <QSettings>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QVBoxLayout>

namespace Swamp::Console {

namespace {
// The events whose actions write an audit entry.
bool isAudited(const QString &kind)
{
    static const QStringList kinds{QStringLiteral("token.created"), QStringLiteral("token.revoked"),
                                   QStringLiteral("token.extended"), QStringLiteral("worker.pruned"),
                                   QStringLiteral("worker.paused"), QStringLiteral("worker.resumed"),
                                   QStringLiteral("worker.labelled"), QStringLiteral("worker.removed")};
    return kinds.contains(kind);
}
} // namespace

AuditTab::AuditTab(AdminSession *session, QWidget *parent)
    : QWidget(parent)
    , m_session(session)
    , m_model(new AuditModel(this))
    , m_actionProxy(new QSortFilterProxyModel(this))
    , m_proxy(new QSortFilterProxyModel(this))
    , m_filter(new QLineEdit(this))
    , m_action(new QComboBox(this))
    , m_view(new QTableView(this))
    , m_summary(new QLabel(this))
{
    setUpFilters();
    setUpLiveTable(m_view, m_proxy, AuditModel::Time, Qt::DescendingOrder);
    m_view->horizontalHeader()->setStretchLastSection(true);
    m_view->setColumnWidth(AuditModel::Time, 130);
    m_view->setColumnWidth(AuditModel::Action, 110);
    m_view->setColumnWidth(AuditModel::Subject, 220);
    m_view->setColumnWidth(AuditModel::Client, 150);
    m_view->setColumnWidth(AuditModel::Address, 110);

    auto *top = new QHBoxLayout;
    top->addWidget(m_filter, 1);
    top->addWidget(m_action);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(top);
    layout->addWidget(m_view, 1);
    layout->addWidget(m_summary);
    m_summary->setWordWrap(true);
    m_summary->setTextInteractionFlags(Qt::TextSelectableByMouse);

    m_refreshTimer.setSingleShot(true);
    m_refreshTimer.setInterval(AdminSession::RefreshDelayMs);
    connect(&m_refreshTimer, &QTimer::timeout, this, &AuditTab::refresh);
    connect(m_session, &AdminSession::sessionStarted, this, &AuditTab::refresh);
    connect(m_session, &AdminSession::eventReceived, this, &AuditTab::handleEvent);
    connect(m_model, &QAbstractItemModel::rowsInserted, this, &AuditTab::updateSummary);
    connect(m_model, &QAbstractItemModel::rowsRemoved, this, &AuditTab::updateSummary);
    updateSummary();
}

void AuditTab::setUpFilters()
{
    m_actionProxy->setSourceModel(m_model);
    m_actionProxy->setFilterRole(AuditModel::ActionRole);
    m_proxy->setSourceModel(m_actionProxy);
    m_proxy->setSortRole(AuditModel::SortRole);
    m_proxy->setFilterRole(AuditModel::FilterRole);
    m_proxy->setFilterCaseSensitivity(Qt::CaseInsensitive);
    m_proxy->setSortCaseSensitivity(Qt::CaseInsensitive);
    m_filter->setPlaceholderText(tr("Filter by action, token, worker, client, address, reason…"));
    m_filter->setClearButtonEnabled(true);
    connect(m_filter, &QLineEdit::textChanged, m_proxy, &QSortFilterProxyModel::setFilterFixedString);
    m_action->addItem(tr("All actions"));
    for (const char16_t *action : {u"token.create", u"token.extend", u"token.revoke", u"worker.pause",
                                   u"worker.resume", u"worker.label", u"worker.remove", u"worker.prune"})
        m_action->addItem(QString::fromUtf16(action), QString::fromUtf16(action));
    connect(m_action, &QComboBox::currentIndexChanged, this, [this](int index) {
        const QString action = m_action->itemData(index).toString();
        m_actionProxy->setFilterRegularExpression(
            action.isEmpty() ? QString() : u'^' + QRegularExpression::escape(action) + u'$');
        updateSummary();
    });
    connect(m_filter, &QLineEdit::textChanged, this, &AuditTab::updateSummary);
}

void AuditTab::handleEvent(const Event &event)
{
    if (isAudited(event.kind) && !m_refreshTimer.isActive())
        m_refreshTimer.start();
}

void AuditTab::refresh()
{
    m_session->request(QStringLiteral("data.query"),
                       {{QStringLiteral("predicate"), QStringLiteral("modelType == \"swamp/audit-event\"")}}, this,
                       [this](const Result<QJsonObject> &result) {
        m_error = result ? QString() : result.error().text();
        if (result)
            m_model->setEntries(result->value(QStringLiteral("results")).toArray());
        updateSummary();
    });
}

QString AuditTab::statusText() const
{
    return m_summary->text();
}

void AuditTab::updateSummary()
{
    if (!m_error.isEmpty()) {
        m_summary->setText(tr("Could not read the audit trail: %1").arg(m_error));
        return;
    }
    if (m_model->rowCount() == 0) {
        m_summary->setText(tr("No audited action yet. Creating, extending or revoking a token and pausing, "
                              "resuming, relabelling, removing or pruning a worker each write an entry here."));
        return;
    }
    m_summary->setText(tr("%n audit entry(s)", nullptr, m_model->rowCount())
                       + (m_proxy->rowCount() < m_model->rowCount() ? u' ' + tr("(%1 shown)").arg(m_proxy->rowCount())
                                                                    : QString()));
}

void AuditTab::saveState(QSettings &settings) const
{
    settings.setValue(QStringLiteral("audit/header"), m_view->horizontalHeader()->saveState());
}

void AuditTab::restoreState(const QSettings &settings)
{
    m_view->horizontalHeader()->restoreState(settings.value(QStringLiteral("audit/header")).toByteArray());
}

} // namespace Swamp::Console
