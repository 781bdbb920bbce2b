#include "connectionbanner.h"

#include "statuspalette.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QStyle>

namespace Swamp::Console {

ConnectionBanner::ConnectionBanner(QWidget *parent)
    : QFrame(parent), m_icon(new QLabel(this)), m_text(new QLabel(this)),
      m_reconnect(
          new QPushButton(style()->standardIcon(QStyle::SP_BrowserReload), tr("&Reconnect"), this)),
      m_connectTo(new QPushButton(tr("Connect &to…"), this))
{
    setObjectName(QStringLiteral("connectionBanner"));
    m_text->setWordWrap(true);
    m_text->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_text->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Preferred);
    m_icon->setAlignment(Qt::AlignTop);
    m_reconnect->setToolTip(tr("Try to reach the orchestrator again now"));
    m_connectTo->setToolTip(tr("Connect to another orchestrator"));
    auto *layout = new QHBoxLayout(this);
    layout->setContentsMargins(8, 6, 8, 6);
    layout->addWidget(m_icon);
    layout->addWidget(m_text, 1);
    layout->addWidget(m_reconnect, 0, Qt::AlignVCenter);
    layout->addWidget(m_connectTo, 0, Qt::AlignVCenter);
    connect(m_reconnect, &QPushButton::clicked, this, &ConnectionBanner::reconnectClicked);
    connect(m_connectTo, &QPushButton::clicked, this, &ConnectionBanner::connectToClicked);
    setVisible(false);
}

void ConnectionBanner::showMessage(Kind kind, const QString &text)
{
    m_text->setText(text);
    if (!text.isEmpty())
        applyKind(kind);
    setVisible(!text.isEmpty());
}

QString ConnectionBanner::text() const
{
    return isHidden() ? QString() : m_text->text();
}

// KMessageWidget's look: the state colour as a border over a light tint of it, so the text
// keeps the palette's own colour (readable on light and dark themes).
void ConnectionBanner::applyKind(Kind kind)
{
    const QColor base = StatusPalette::readable(
        kind == Kind::Error ? QColor(0xb3, 0x1d, 0x1d) : QColor(0xc8, 0x7a, 0x00), palette());
    QColor tint = base;
    tint.setAlphaF(0.2f);
    setStyleSheet(
        QStringLiteral("QFrame#connectionBanner { background-color: %1; border: 1px solid %2;"
                       " border-radius: 4px; }")
            .arg(tint.name(QColor::HexArgb), base.name()));
    const QStyle::StandardPixmap icon =
        kind == Kind::Error ? QStyle::SP_MessageBoxCritical : QStyle::SP_MessageBoxWarning;
    const int size = style()->pixelMetric(QStyle::PM_SmallIconSize);
    m_icon->setPixmap(style()->standardIcon(icon).pixmap(size, size));
}

} // namespace Swamp::Console
