#pragma once

#include <QDialog>
#include <QJsonObject>

class QCheckBox;
class QDialogButtonBox;
class QLabel;
class QLineEdit;
class QSpinBox;

namespace Swamp::Console {

// "New token": name, duration, max enrollments (or unlimited), labels and a reason, validated as you type
// with core's validators. OK emits createRequested() and waits: the tab closes the dialog when
// the orchestrator created the token, or shows its error here.
class NewTokenDialog final : public QDialog
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(NewTokenDialog)

public:
    explicit NewTokenDialog(QWidget *parent = nullptr);

    QLineEdit *nameEdit() const { return m_name; }
    QLineEdit *durationEdit() const { return m_duration; }
    QSpinBox *maxEnrollmentsBox() const { return m_maxEnrollments; }
    QCheckBox *unlimitedBox() const { return m_unlimited; }
    QLineEdit *labelsEdit() const { return m_labels; }
    // Why the token is made, for the audit trail (optional).
    QLineEdit *reasonEdit() const { return m_reason; }
    // Says when the workers enrolled with the token will stop (its expiry ends their sessions).
    QLabel *durationHint() const { return m_durationHint; }
    bool isValid() const;

    // The token.create parameters; valid only when isValid().
    QJsonObject parameters() const;
    void setBusy(bool busy);
    void showError(const QString &message);
    // The orchestrator created the token: close the dialog.
    void markCreated();

    void accept() override;

Q_SIGNALS:
    void createRequested(const QJsonObject &parameters);

private:
    void validate();

    QLineEdit *m_name;
    QLineEdit *m_duration;
    QSpinBox *m_maxEnrollments;
    QCheckBox *m_unlimited;
    QLineEdit *m_labels;
    QLineEdit *m_reason;
    QLabel *m_nameError;
    QLabel *m_durationError;
    QLabel *m_durationHint;
    QLabel *m_labelsError;
    QLabel *m_serverError;
    QDialogButtonBox *m_buttons;
    bool m_busy = false;
};

} // namespace Swamp::Console
