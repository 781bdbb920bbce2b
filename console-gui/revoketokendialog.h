#pragma once

#include <QDialog>

class QDialogButtonBox;
class QLabel;
class QLineEdit;
class QListWidget;

namespace Swamp::Console {

// Revoke: the reason, and the confirmation that names the workers that will be disconnected.
// The Revoke button emits revokeRequested() and waits for the orchestrator's answer.
class RevokeTokenDialog final : public QDialog
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(RevokeTokenDialog)

public:
    RevokeTokenDialog(const QString &tokenName, const QStringList &connectedWorkers,
                      QWidget *parent = nullptr);

    QString tokenName() const { return m_tokenName; }
    QLineEdit *reasonEdit() const { return m_reason; }
    QStringList listedWorkers() const;

    void showError(const QString &message);
    void markRevoked();
    void accept() override;

Q_SIGNALS:
    void revokeRequested(const QString &tokenName, const QString &reason);

private:
    QString m_tokenName;
    QLineEdit *m_reason;
    QListWidget *m_workers;
    QLabel *m_error;
    QDialogButtonBox *m_buttons;
    bool m_busy = false;
};

} // namespace Swamp::Console
