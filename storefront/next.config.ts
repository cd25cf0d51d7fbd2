import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  poweredByHeader: false,
  reactStrictMode: true,
  // The API is the only thing the server calls; images are the catalog's own paths.
  images: { unoptimized: true },
};

export default nextConfig;
