#pragma once

#include "actiondialog.h"

#include <QDateTime>

namespace Swamp::Console {

// "Extend token": a new lifetime from now (1 ms to 365 d) for a token that is not revoked, also
// an expired one. Says when the workers enrolled with it will stop then, and how many are
// connected on it now (their sessions move with it).
class ExtendTokenDialog final : public ActionDialog
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ExtendTokenDialog)

public:
    ExtendTokenDialog(const QString &token, const QDateTime &expiresAt, int connectedWorkers,
                      QWidget *parent = nullptr);

    QLineEdit *durationEdit() const { return m_duration; }
    QLabel *stopHint() const { return m_hint; }
    // {"name", "durationMs", "reason"?} for token.extend.
    QJsonObject parameters() const;

protected:
    bool isInputValid() const override;

private:
    void validate();

    QString m_token;
    QLineEdit *m_duration;
    QLabel *m_problem;
    QLabel *m_hint;
};

} // namespace Swamp::Console
