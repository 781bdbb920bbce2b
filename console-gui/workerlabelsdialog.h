#pragma once

#include "actiondialog.h"

#include "common/labels.h"

#include <QJsonObject>

namespace Swamp::Console {

// "Labels" of one worker: its labels as "k=v, k=v", edited in place. The worker.label request
// carries the difference: the labels added or changed in "set", the keys no longer there in
// "remove".
class WorkerLabelsDialog final : public ActionDialog
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(WorkerLabelsDialog)

public:
    WorkerLabelsDialog(const QString &worker, const Labels &current, QWidget *parent = nullptr);

    QLineEdit *labelsEdit() const { return m_labels; }
    // {"name", "set", "remove", "reason"?} for worker.label.
    QJsonObject parameters() const;

protected:
    bool isInputValid() const override;

private:
    void validate();

    QString m_worker;
    Labels m_current;
    QLineEdit *m_labels;
    QLabel *m_problem;
    QLabel *m_change;
};

} // namespace Swamp::Console
