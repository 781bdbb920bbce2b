#pragma once

#include "client/stepfollower.h"

#include <QJsonObject>
#include <QWidget>

class QCheckBox;
class QLabel;
class QPlainTextEdit;

namespace Swamp::Console {

class AdminSession;

// A step's output as it is written: `run.follow {id, after}` replays the stored chunks and then
// pushes new ones as frames, in order, until the step is terminal. stderr is shown in its own
// colour, a new attempt gets a separator line, and after a reconnect following resumes after the
// last chunk shown. With "Follow" on the view stays scrolled to the end.
class StepOutputView final : public QWidget
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(StepOutputView)

public:
    explicit StepOutputView(AdminSession *session, QWidget *parent = nullptr);

    // Shows the output of another step (empty: none).
    void setStep(const QString &stepId);
    QString stepId() const { return m_stepId; }
    QString text() const;
    QString statusText() const;
    int lastChunk() const { return m_follower.lastChunk(m_stepId); }
    bool isFollowing() const { return m_following; }
    QCheckBox *followBox() const { return m_follow; }
    QPlainTextEdit *editor() const { return m_text; }

private:
    void follow();
    void appendChunk(const QString &stepId, const QJsonObject &chunk, bool newAttempt);
    void updateStatus();

    AdminSession *m_session;
    QPlainTextEdit *m_text;
    QCheckBox *m_follow;
    QLabel *m_status;
    QString m_stepId;
    StepFollower m_follower; // of m_stepId only
    bool m_following = false;
    quint64 m_generation = 0;
};

} // namespace Swamp::Console
