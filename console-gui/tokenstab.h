#pragma once

#include <QPointer>
#include <QWidget>

class QAction;
class QCheckBox;
class QLabel;
class QLineEdit;
class QSettings;
class QSortFilterProxyModel;
class QTableView;

namespace Swamp::Console {

class AdminSession;
class ExtendTokenDialog;
class NewTokenDialog;
class RevokeTokenDialog;
class TokenModel;
class WorkerModel;

// Enrollment tokens: the list with effective state and enrollments, "New token" (the secret is
// shown once, with deploy snippets), extend (a new expiry, saying when its workers stop) and
// revoke (with a reason, naming the workers it cuts off).
class TokensTab final : public QWidget
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(TokensTab)

public:
    TokensTab(AdminSession *session, TokenModel *tokens, WorkerModel *workers,
              QWidget *parent = nullptr);

    QTableView *view() const { return m_view; }
    QLineEdit *filterEdit() const { return m_filter; }
    QAction *newTokenAction() const { return m_newToken; }
    QAction *revokeAction() const { return m_revoke; }
    QAction *extendAction() const { return m_extend; }
    QSortFilterProxyModel *proxy() const { return m_proxy; }

    // Opens the dialogs (non-blocking, window-modal); they are children of this tab.
    NewTokenDialog *openNewTokenDialog();
    RevokeTokenDialog *openRevokeDialog();
    ExtendTokenDialog *openExtendDialog();
    void selectToken(const QString &name);
    // The warning about tokens whose expiry will stop connected workers; empty: none.
    QString expiryWarning() const;

    void saveState(QSettings &settings) const;
    void restoreState(const QSettings &settings);

Q_SIGNALS:
    void message(const QString &text);

private:
    void createToken(NewTokenDialog *dialog, const QJsonObject &parameters);
    void revokeToken(RevokeTokenDialog *dialog, const QString &name, const QString &reason);
    void updateActions();
    QString selectedName() const;
    QJsonObject selectedToken() const;
    // The names of the connected workers enrolled with the token, sorted.
    QStringList connectedWorkers(const QString &token) const;

    AdminSession *m_session;
    TokenModel *m_tokens;
    WorkerModel *m_workers;
    QSortFilterProxyModel *m_liveProxy;
    QSortFilterProxyModel *m_proxy;
    QLineEdit *m_filter;
    QCheckBox *m_showEnded;
    QTableView *m_view;
    QLabel *m_summary;
    QLabel *m_expiryWarning; // tokens with connected workers that expire within a day
    QAction *m_newToken;
    QAction *m_revoke;
    QAction *m_extend;
};

} // namespace Swamp::Console
