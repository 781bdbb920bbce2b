#pragma once

#include "common/error.h"
#include "common/labels.h"

#include <QDialog>

class QDialogButtonBox;
class QFormLayout;
class QLabel;
class QLineEdit;
class QPushButton;

namespace Swamp::Console {

// A confirmation for an admin action: what it does, an optional reason for the audit trail, the
// fields a subclass adds to form(), and the orchestrator's answer. OK emits confirmed() and waits
// (the dialog stays open, busy): the caller closes it with markDone() once the orchestrator
// accepted, or shows its error here with showError() so the operator can correct and retry.
class ActionDialog : public QDialog
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ActionDialog)

public:
    enum class Kind { Normal, Destructive };

    ActionDialog(const QString &title, const QString &text, const QString &acceptText, Kind kind,
                 QWidget *parent = nullptr);

    QLabel *textLabel() const { return m_text; }
    QLineEdit *reasonEdit() const { return m_reason; }
    QPushButton *acceptButton() const { return m_accept; }
    // The reason as typed (trimmed); empty when none.
    QString reason() const;
    // For actions the orchestrator audits without a reason (drain, prune): no reason field.
    void hideReason();
    // What the orchestrator (or the validation) said last; empty when nothing went wrong.
    QString errorText() const;
    QString errorCode() const { return m_errorCode; }
    bool isBusy() const { return m_busy; }

    void showError(const Error &error);
    void markDone();
    void accept() override;

Q_SIGNALS:
    void confirmed();

protected:
    QFormLayout *form() const { return m_form; }
    // False while a field of a subclass holds something the orchestrator would refuse.
    virtual bool isInputValid() const { return true; }
    // Subclasses call this when a field changed.
    void updateAcceptButton();

private:
    QLabel *m_text;
    QFormLayout *m_form;
    QLineEdit *m_reason;
    QLabel *m_error;
    QDialogButtonBox *m_buttons;
    QPushButton *m_accept;
    QString m_errorCode;
    bool m_busy = false;
};

// A label for a field's problem: wrapping, in the palette's readable red, hidden while empty.
QLabel *createProblemLabel(QWidget *parent);
void showProblem(QLabel *label, const QString &problem);
// Labels as typed in a dialog: "k=v, k=v" (spaces around the commas ignored); empty: none.
Result<Labels> parseLabelText(const QString &text);

} // namespace Swamp::Console
