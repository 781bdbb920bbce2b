#pragma once

#include <QFrame>

class QLabel;
class QPushButton;

namespace Swamp::Console {

// The bar at the top of the window while the console cannot reach the orchestrator, in the way
// of KMessageWidget (KDE) and Qt Creator's info bars: a tinted frame with an icon, a sentence
// that says what happened and what the tables show, and the buttons that fix it.
class ConnectionBanner final : public QFrame
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ConnectionBanner)

public:
    enum class Kind { Warning, Error };

    explicit ConnectionBanner(QWidget *parent = nullptr);

    // Shows the banner with `text`; an empty text hides it.
    void showMessage(Kind kind, const QString &text);
    QString text() const;
    QPushButton *reconnectButton() const { return m_reconnect; }
    QPushButton *connectToButton() const { return m_connectTo; }

Q_SIGNALS:
    void reconnectClicked();
    void connectToClicked();

private:
    void applyKind(Kind kind);

    QLabel *m_icon;
    QLabel *m_text;
    QPushButton *m_reconnect;
    QPushButton *m_connectTo;
};

} // namespace Swamp::Console
