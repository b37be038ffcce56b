// What a buyer's phone camera sees when it opens a waybill QR: the same small page for every token,
// valid, unknown or expired, so the page is no oracle and shows nothing about the parcel.

export const CONSUMER_PAGE = `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>派件码 · Courier code</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;line-height:1.6;color:#222}</style>
</head>
<body>
<h1>此二维码仅供派件员使用</h1>
<p>这是快递面单上的派件码，只有快递公司授权的派件员用工作手机扫描才能查看收件地址。您的个人信息不会显示在这里。</p>
<h2>This code is for the delivery courier</h2>
<p>This QR code on the parcel label can only be used by the carrier's authorised courier devices. It shows no personal information.</p>
</body>
</html>
`;
