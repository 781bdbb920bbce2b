#pragma once

#include "actiondialog.h"

class QCheckBox;

namespace Swamp::Console {

// "Drain worker": finish the running steps, take no new ones, exit; optionally with a deadline
// after which the steps still running are cancelled and go back to the queue.
class DrainWorkerDialog final : public ActionDialog
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(DrainWorkerDialog)

public:
    DrainWorkerDialog(const QString &worker, int runningSteps, QWidget *parent = nullptr);

    QCheckBox *deadlineBox() const { return m_useDeadline; }
    QLineEdit *deadlineEdit() const { return m_deadline; }
    // The worker.drain deadlineMs: 0 without a deadline.
    qint64 deadlineMs() const;

protected:
    bool isInputValid() const override;

private:
    void validate();

    QCheckBox *m_useDeadline;
    QLineEdit *m_deadline;
    QLabel *m_deadlineProblem;
};

} // namespace Swamp::Console
