#include "tokenstab.h"

#include "tabsupport.h"

#include "client/adminsession.h"
#include "extendtokendialog.h"
#include "newtokendialog.h"
#include "revoketokendialog.h"
#include "tokencreateddialog.h"
#include "tokenmodel.h"
#include "statuspalette.h"
#include "workermodel.h"

#include "common/duration.h"
#include "common/labels.h"
#include "model/token.h"

#include <QAction>
#include <QCheckBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QJsonArray>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QSettings>
#include <QSortFilterProxyModel>
#include <QStyle>
#include <QTableView>
#include <QToolButton>
#include <QVBoxLayout>

namespace Swamp::Console {

TokensTab::TokensTab(AdminSession *session, TokenModel *tokens, WorkerModel *workers, QWidget *parent)
    : QWidget(parent)
    , m_session(session)
    , m_tokens(tokens)
    , m_workers(workers)
    , m_liveProxy(new QSortFilterProxyModel(this))
    , m_proxy(new QSortFilterProxyModel(this))
    , m_filter(new QLineEdit(this))
    , m_showEnded(new QCheckBox(tr("Show e&xpired and revoked"), this))
    , m_view(new QTableView(this))
    , m_summary(new QLabel(this))
    , m_expiryWarning(new QLabel(this))
    , m_newToken(new QAction(style()->standardIcon(QStyle::SP_FileDialogNewFolder), tr("&New token…"), this))
    , m_revoke(new QAction(style()->standardIcon(QStyle::SP_DialogDiscardButton), tr("&Revoke…"), this))
    , m_extend(new QAction(style()->standardIcon(QStyle::SP_BrowserReload), tr("E&xtend…"), this))
{
    m_liveProxy->setSourceModel(m_tokens);
    m_liveProxy->setFilterRole(TokenModel::RawStateRole);
    m_proxy->setSourceModel(m_liveProxy);
    m_proxy->setSortRole(TokenModel::SortRole);
    m_proxy->setFilterRole(TokenModel::FilterRole);
    m_proxy->setFilterCaseSensitivity(Qt::CaseInsensitive);
    m_proxy->setSortCaseSensitivity(Qt::CaseInsensitive);

    m_newToken->setShortcut(QKeySequence::New);
    m_newToken->setToolTip(tr("Create an enrollment token (%1)").arg(m_newToken->shortcut().toString(QKeySequence::NativeText)));
    m_revoke->setShortcut(QKeySequence::Delete);
    m_revoke->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    m_revoke->setToolTip(tr("Revoke the selected token (%1)").arg(m_revoke->shortcut().toString(QKeySequence::NativeText)));
    addAction(m_revoke);
    connect(m_newToken, &QAction::triggered, this, &TokensTab::openNewTokenDialog);
    connect(m_revoke, &QAction::triggered, this, &TokensTab::openRevokeDialog);
    m_extend->setToolTip(tr("Move the selected token's expiry, and so its workers' stop, later"));
    connect(m_extend, &QAction::triggered, this, &TokensTab::openExtendDialog);

    QToolButton *newButton = createActionButton(m_newToken, this);
    QToolButton *extendButton = createActionButton(m_extend, this);
    QToolButton *revokeButton = createActionButton(m_revoke, this);

    m_filter->setPlaceholderText(tr("Filter by name, state, label…"));
    m_filter->setClearButtonEnabled(true);
    m_showEnded->setChecked(true);
    connect(m_filter, &QLineEdit::textChanged, m_proxy, &QSortFilterProxyModel::setFilterFixedString);
    connect(m_showEnded, &QCheckBox::toggled, this, [this](bool show) {
        m_liveProxy->setFilterRegularExpression(show ? QString() : QStringLiteral("^(unused|enrolled)$"));
    });

    setUpLiveTable(m_view, m_proxy, TokenModel::Created, Qt::DescendingOrder);
    m_view->horizontalHeader()->setStretchLastSection(true);
    m_view->setColumnWidth(TokenModel::Name, 180);
    m_view->setColumnWidth(TokenModel::State, 120);
    m_view->setColumnWidth(TokenModel::Enrollments, 110);
    m_view->setColumnWidth(TokenModel::Expires, 140);
    m_view->setColumnWidth(TokenModel::Labels, 180);
    connect(m_view->selectionModel(), &QItemSelectionModel::selectionChanged, this, &TokensTab::updateActions);
    connect(m_tokens, &QAbstractItemModel::dataChanged, this, &TokensTab::updateActions);
    connect(m_tokens, &QAbstractItemModel::rowsInserted, this, &TokensTab::updateActions);
    connect(m_tokens, &QAbstractItemModel::rowsRemoved, this, &TokensTab::updateActions);
    connect(m_view, &QTableView::doubleClicked, this, [this] {
        if (m_revoke->isEnabled())
            openRevokeDialog();
    });

    auto *top = new QHBoxLayout;
    top->addWidget(newButton);
    top->addWidget(extendButton);
    top->addWidget(revokeButton);
    top->addSpacing(12);
    top->addWidget(m_filter, 1);
    top->addWidget(m_showEnded);
    m_expiryWarning->setWordWrap(true);
    m_expiryWarning->setVisible(false);
    QPalette warningPalette = m_expiryWarning->palette();
    warningPalette.setColor(QPalette::WindowText,
                            StatusPalette::readable(QColor(0xb3, 0x5c, 0x00), warningPalette));
    m_expiryWarning->setPalette(warningPalette);
    connect(m_workers, &QAbstractItemModel::dataChanged, this, &TokensTab::updateActions);
    connect(m_workers, &QAbstractItemModel::rowsInserted, this, &TokensTab::updateActions);
    connect(m_workers, &QAbstractItemModel::rowsRemoved, this, &TokensTab::updateActions);
    connect(m_workers, &QAbstractItemModel::modelReset, this, &TokensTab::updateActions);

    auto *layout = new QVBoxLayout(this);
    layout->addLayout(top);
    layout->addWidget(m_expiryWarning);
    layout->addWidget(m_view, 1);
    layout->addWidget(m_summary);
    setTabOrder(newButton, extendButton);
    setTabOrder(extendButton, revokeButton);
    setTabOrder(revokeButton, m_filter);
    setTabOrder(m_filter, m_showEnded);
    setTabOrder(m_showEnded, m_view);
    updateActions();
}

QString TokensTab::selectedName() const
{
    const QModelIndexList rows = m_view->selectionModel()->selectedRows();
    return rows.isEmpty() ? QString() : rows.first().data(TokenModel::NameRole).toString();
}

void TokensTab::updateActions()
{
    const QModelIndexList rows = m_view->selectionModel()->selectedRows();
    const QString state = rows.isEmpty() ? QString() : rows.first().data(TokenModel::RawStateRole).toString();
    m_revoke->setEnabled(state == u"unused" || state == u"enrolled");
    m_extend->setEnabled(state == u"unused" || state == u"enrolled" || state == u"expired");
    int live = 0;
    for (int row = 0; row < m_tokens->rowCount(); ++row) {
        const QString rowState = m_tokens->index(row, 0).data(TokenModel::RawStateRole).toString();
        if (rowState == u"unused" || rowState == u"enrolled")
            ++live;
    }
    m_summary->setText(tr("%n token(s), %1 live", nullptr, m_tokens->rowCount()).arg(live));
    const QString warning = expiryWarning();
    m_expiryWarning->setText(warning);
    m_expiryWarning->setVisible(!warning.isEmpty());
}

QString TokensTab::expiryWarning() const
{
    // Connected workers by token, from the live worker list (fresher than token.list's count).
    QHash<QString, int> connected;
    const QList<WorkerRecord> workers = m_workers->workers();
    for (const WorkerRecord &worker : workers) {
        if (isConnectedStatus(worker.status))
            ++connected[worker.tokenName];
    }
    const QDateTime now = QDateTime::currentDateTimeUtc();
    QStringList warnings;
    for (int row = 0; row < m_tokens->rowCount(); ++row) {
        QJsonObject token = m_tokens->tokenAt(row);
        token.insert(QStringLiteral("liveWorkers"), connected.value(token.value(QStringLiteral("name")).toString()));
        if (const QString warning = tokenExpiryWarning(token, now); !warning.isEmpty())
            warnings << warning;
    }
    return warnings.join(u'\n');
}

void TokensTab::selectToken(const QString &name)
{
    for (int row = 0; row < m_proxy->rowCount(); ++row) {
        const QModelIndex index = m_proxy->index(row, 0);
        const QString state = index.data(TokenModel::RawStateRole).toString();
        if (index.data(TokenModel::NameRole).toString() == name && (state == u"unused" || state == u"enrolled")) {
            selectAndReveal(m_view, index);
            return;
        }
    }
}

NewTokenDialog *TokensTab::openNewTokenDialog()
{
    auto *dialog = new NewTokenDialog(this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &NewTokenDialog::createRequested, this,
            [this, dialog](const QJsonObject &parameters) { createToken(dialog, parameters); });
    dialog->open();
    return dialog;
}

void TokensTab::createToken(NewTokenDialog *dialog, const QJsonObject &parameters)
{
    m_session->request(QStringLiteral("token.create"), parameters, dialog,
                       [this, dialog](const Result<QJsonObject> &result) {
        if (!result) {
            dialog->setBusy(false);
            dialog->showError(result.error().text());
            return;
        }
        const QString name = result->value(QStringLiteral("name")).toString();
        const QJsonValue max = result->value(QStringLiteral("maxEnrollments"));
        const QDateTime expires = parseIsoUtc(result->value(QStringLiteral("expiresAt")).toString());
        const QString summary =
            tr("Token '%1' expires %2 (%3); enrollments: %4; labels: %5.")
                .arg(name, QLocale().toString(expires.toLocalTime(), QLocale::ShortFormat),
                     formatRelative(expires, QDateTime::currentDateTimeUtc()),
                     max.isNull() ? tr("unlimited") : QString::number(max.toInt()),
                     formatLabels(labelsFromJson(result->value(QStringLiteral("labels")).toObject())))
            + u' '
            + tr("Workers enrolled with it stop then too (its expiry ends their sessions): extend it in time with "
                 "'swamp worker token extend %1 --duration 30d'.")
                  .arg(name);
        // The URL workers on other machines dial, as the orchestrator advertises it (not the one
        // this console reached it on, which may be loopback); older orchestrators do not say.
        const QString workerUrl = result->value(QStringLiteral("workerUrl")).toString();
        dialog->markCreated();
        // The secret goes to the result dialog only; the token list never holds it.
        QJsonObject listed = *result;
        listed.remove(QStringLiteral("token"));
        m_tokens->upsert(listed);
        selectToken(name);
        auto *created = new TokenCreatedDialog(workerUrl.isEmpty() ? m_session->orchestratorUrl() : workerUrl,
                                               result->value(QStringLiteral("token")).toString(), summary, this);
        created->open();
        Q_EMIT message(tr("Created enrollment token '%1'.").arg(name));
    });
}

RevokeTokenDialog *TokensTab::openRevokeDialog()
{
    const QString name = selectedName();
    if (name.isEmpty() || !m_revoke->isEnabled())
        return nullptr;
    auto *dialog = new RevokeTokenDialog(name, connectedWorkers(name), this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &RevokeTokenDialog::revokeRequested, this,
            [this, dialog](const QString &token, const QString &reason) { revokeToken(dialog, token, reason); });
    dialog->open();
    return dialog;
}

QStringList TokensTab::connectedWorkers(const QString &token) const
{
    QStringList connected;
    const QList<WorkerRecord> workers = m_workers->workers();
    for (const WorkerRecord &worker : workers) {
        if (worker.tokenName == token && isConnectedStatus(worker.status))
            connected << worker.name;
    }
    connected.sort();
    return connected;
}

QJsonObject TokensTab::selectedToken() const
{
    const QModelIndexList rows = m_view->selectionModel()->selectedRows();
    if (rows.isEmpty())
        return {};
    return m_tokens->tokenAt(m_liveProxy->mapToSource(m_proxy->mapToSource(rows.first())).row());
}

ExtendTokenDialog *TokensTab::openExtendDialog()
{
    const QJsonObject token = selectedToken();
    const QString name = token.value(QStringLiteral("name")).toString();
    if (name.isEmpty() || !m_extend->isEnabled())
        return nullptr;
    auto *dialog = new ExtendTokenDialog(name, parseIsoUtc(token.value(QStringLiteral("expiresAt")).toString()),
                                         int(connectedWorkers(name).size()), this);
    connect(dialog, &ActionDialog::confirmed, this, [this, dialog] {
        m_session->request(QStringLiteral("token.extend"), dialog->parameters(), dialog,
                           [this, dialog](const Result<QJsonObject> &result) {
            if (!result) {
                dialog->showError(result.error());
                return;
            }
            dialog->markDone();
            const QDateTime expires = parseIsoUtc(result->value(QStringLiteral("expiresAt")).toString());
            Q_EMIT message(tr("Extended enrollment token '%1': it and its %n connected worker(s) stop at %2.", nullptr,
                              int(result->value(QStringLiteral("workers")).toArray().size()))
                               .arg(result->value(QStringLiteral("name")).toString(),
                                    QLocale().toString(expires.toLocalTime(), QLocale::ShortFormat)));
            m_session->scheduleRefresh();
        });
    });
    dialog->open();
    return dialog;
}

void TokensTab::revokeToken(RevokeTokenDialog *dialog, const QString &name, const QString &reason)
{
    m_session->request(QStringLiteral("token.revoke"),
                       {{QStringLiteral("name"), name}, {QStringLiteral("reason"), reason}}, dialog,
                       [this, dialog, name](const Result<QJsonObject> &result) {
        if (!result) {
            dialog->showError(result.error().text());
            return;
        }
        dialog->markRevoked();
        QStringList disconnected;
        const QJsonArray list = result->value(QStringLiteral("disconnected")).toArray();
        for (const QJsonValue &worker : list)
            disconnected << worker.toString();
        if (result->value(QStringLiteral("alreadyRevoked")).toBool())
            Q_EMIT message(tr("Enrollment token '%1' was already revoked.").arg(name));
        else if (disconnected.isEmpty())
            Q_EMIT message(tr("Revoked enrollment token '%1'.").arg(name));
        else
            Q_EMIT message(tr("Revoked enrollment token '%1'; disconnected: %2.")
                               .arg(name, disconnected.join(QStringLiteral(", "))));
        m_session->scheduleRefresh();
    });
}

void TokensTab::saveState(QSettings &settings) const
{
    settings.setValue(QStringLiteral("tokens/header"), m_view->horizontalHeader()->saveState());
    settings.setValue(QStringLiteral("tokens/showEnded"), m_showEnded->isChecked());
}

void TokensTab::restoreState(const QSettings &settings)
{
    m_view->horizontalHeader()->restoreState(settings.value(QStringLiteral("tokens/header")).toByteArray());
    m_showEnded->setChecked(settings.value(QStringLiteral("tokens/showEnded"), true).toBool());
}

} // namespace Swamp::Console
